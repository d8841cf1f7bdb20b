//! SR's scheduler and channel microbenchmarks done with Tokio tasks, for
//! `make compare` (see ../linux_threads.c): the same QEMU machine under
//! -icount shift=0,sleep=off, so a guest nanosecond is a guest instruction.
//! "Same core" benchmarks run on a current-thread runtime.
//!
//! Output: "compare: tokio NAME VALUE UNIT", VALUE -1 when a check failed.
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Mutex};

fn report(name: &str, value: i64, unit: &str) {
    println!("compare: tokio {} {} {}", name, value, unit);
}

fn per(start: Instant, n: u64) -> i64 {
    (start.elapsed().as_nanos() as u64 / n) as i64
}

/// spawn_join: spawn a task that does nothing and await its handle.
async fn spawn_join() {
    const N: u64 = 2000;
    tokio::spawn(async { 1u64 }).await.unwrap();
    let t0 = Instant::now();
    let mut ran = 0;
    for _ in 0..N {
        ran += tokio::spawn(async { 1u64 }).await.unwrap();
    }
    report("spawn_join", if ran == N { per(t0, N) } else { -1 }, "insn/op");
}

/// yield_switch: two tasks calling yield_now, per switch.
async fn yield_switch() {
    const N: u64 = 20000;
    let yielder = || async {
        for _ in 0..N {
            tokio::task::yield_now().await;
        }
    };
    let t0 = Instant::now();
    let a = tokio::spawn(yielder());
    let b = tokio::spawn(yielder());
    a.await.unwrap();
    b.await.unwrap();
    report("yield_switch", per(t0, 2 * N), "insn/switch");
}

/// chan_pingpong_same: a round trip through two channels of capacity 1.
async fn chan_pingpong() {
    const N: u64 = 10000;
    let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
    let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
    let ponger = tokio::spawn(async move {
        for _ in 0..N {
            let v = ping_rx.recv().await.unwrap();
            pong_tx.send(v).await.unwrap();
        }
    });
    let t0 = Instant::now();
    let mut sum = 0;
    for i in 0..N {
        ping_tx.send(i).await.unwrap();
        sum += pong_rx.recv().await.unwrap();
    }
    let v = per(t0, N);
    ponger.await.unwrap();
    report("chan_pingpong_same", if sum == N * (N - 1) / 2 { v } else { -1 }, "insn/roundtrip");
}

/// chan_send_recv: try_send + try_recv of a 32-byte message.
fn chan_send_recv() {
    const N: u64 = 100000;
    let (tx, mut rx) = mpsc::channel::<[u64; 4]>(16);
    let mut m = [1u64, 2, 3, 4];
    let mut out = [0u64; 4];
    let mut sum = 0;
    let t0 = Instant::now();
    for i in 0..N {
        m[0] = i;
        let _ = tx.try_send(m);
        if let Ok(x) = rx.try_recv() {
            out = x;
        }
        sum += out[0];
    }
    let v = per(t0, N);
    report("chan_send_recv", if sum == N * (N - 1) / 2 && out[3] == 4 { v } else { -1 }, "insn/pair");
}

/// mutex_uncontended: tokio::sync::Mutex lock + unlock.
async fn mutex_uncontended() {
    const N: u64 = 100000;
    let m = Mutex::new(0u64);
    let t0 = Instant::now();
    for _ in 0..N {
        *m.lock().await += 1;
    }
    let v = per(t0, N);
    report("mutex_uncontended", if *m.lock().await == N { v } else { -1 }, "insn/op");
}

/// timer_irq_to_task: how late a task sleeping until 50 us ahead runs again.
async fn timer_latency() {
    const N: u64 = 500;
    let mut total = 0u64;
    for _ in 0..N {
        let deadline = Instant::now() + Duration::from_micros(50);
        tokio::time::sleep_until(deadline.into()).await;
        let now = Instant::now();
        if now < deadline {
            report("timer_irq_to_task", -1, "insn");
            return;
        }
        total += (now - deadline).as_nanos() as u64;
    }
    report("timer_irq_to_task", (total / N) as i64, "insn");
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        spawn_join().await;
        yield_switch().await;
        chan_pingpong().await;
        mutex_uncontended().await;
    });
    chan_send_recv();
    rt.block_on(timer_latency());
}
