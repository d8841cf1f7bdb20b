// SR's scheduler and channel microbenchmarks done with goroutines, for
// `make compare` (see linux_threads.c): the same QEMU machine under -icount
// shift=0,sleep=off, so a guest nanosecond is a guest instruction. Go
// cannot pin a goroutine to a core; "same core" runs with GOMAXPROCS(1).
//
// Output: "compare: go NAME VALUE UNIT", VALUE -1 when a check failed.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

func report(name string, value int64, unit string) {
	fmt.Printf("compare: go %s %d %s\n", name, value, unit)
}

func nowNs() int64 { return time.Now().UnixNano() }

// spawn_join: start a goroutine that does nothing and wait for it.
func spawnJoin() {
	const n = 2000
	runtime.GOMAXPROCS(1)
	ran := 0
	done := make(chan struct{})
	run := func() {
		ran++
		done <- struct{}{}
	}
	go run()
	<-done
	t0 := nowNs()
	for i := 0; i < n; i++ {
		go run()
		<-done
	}
	t1 := nowNs()
	v := (t1 - t0) / n
	if ran != n+1 {
		v = -1
	}
	report("spawn_join", v, "insn/op")
}

// yield_switch: two goroutines on one P calling runtime.Gosched.
func yieldSwitch() {
	const n = 20000
	runtime.GOMAXPROCS(1)
	var wg sync.WaitGroup
	var start, end int64
	started := make(chan struct{})
	yielder := func(first bool) {
		defer wg.Done()
		if first {
			<-started
			start = nowNs()
		} else {
			close(started)
		}
		for i := 0; i < n; i++ {
			runtime.Gosched()
		}
		end = nowNs()
	}
	wg.Add(2)
	go yielder(true)
	go yielder(false)
	wg.Wait()
	report("yield_switch", (end-start)/(2*n), "insn/switch")
}

// chan_pingpong_same: a round trip through two unbuffered channels
// between two goroutines on one P.
func pingpong(n int) int64 {
	runtime.GOMAXPROCS(1)
	ping, pong := make(chan int), make(chan int)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			pong <- <-ping
		}
	}()
	sum := 0
	t0 := nowNs()
	for i := 0; i < n; i++ {
		ping <- i
		sum += <-pong
	}
	t1 := nowNs()
	wg.Wait()
	if sum != n*(n-1)/2 {
		return -1
	}
	return (t1 - t0) / int64(n)
}

// mutex_uncontended: sync.Mutex lock + unlock.
func mutexUncontended() {
	const n = 100000
	var m sync.Mutex
	t0 := nowNs()
	for i := 0; i < n; i++ {
		m.Lock()
		m.Unlock()
	}
	report("mutex_uncontended", (nowNs()-t0)/n, "insn/op")
}

// chan_send_recv: a send and a receive of a 32-byte message on a buffered
// channel, neither of which blocks (Go's fastest form: no select).
func chanSendRecv() {
	const n = 100000
	type msg struct{ w [4]uint64 }
	c := make(chan msg, 16)
	m := msg{[4]uint64{1, 2, 3, 4}}
	var out msg
	var sum uint64
	t0 := nowNs()
	for i := 0; i < n; i++ {
		m.w[0] = uint64(i)
		c <- m
		out = <-c
		sum += out.w[0]
	}
	t1 := nowNs()
	v := (t1 - t0) / n
	if sum != uint64(n)*uint64(n-1)/2 || out.w[3] != 4 {
		v = -1
	}
	report("chan_send_recv", v, "insn/pair")
}

// timer_irq_to_task: how late a goroutine sleeping 50 us runs again.
func timerLatency() {
	const n = 500
	runtime.GOMAXPROCS(1)
	var total int64
	for i := 0; i < n; i++ {
		deadline := nowNs() + 50000
		time.Sleep(time.Duration(deadline - nowNs()))
		now := nowNs()
		if now < deadline {
			report("timer_irq_to_task", -1, "insn")
			return
		}
		total += now - deadline
	}
	report("timer_irq_to_task", total/n, "insn")
}

func main() {
	spawnJoin()
	yieldSwitch()
	report("chan_pingpong_same", pingpong(10000), "insn/roundtrip")
	mutexUncontended()
	chanSendRecv()
	timerLatency()
}
