/* The timer heap: ordering, removal of any element, growth. */
#include <stdlib.h>
#include <kernel/timerq.h>
#include <sr_test.h>

TEST(timerq, pops_in_deadline_order_and_only_when_due)
{
    struct timerq q = {0};
    struct timer t[200];
    for (int i = 0; i < 200; i++) {
        timer_init(&t[i]);
        t[i].deadline = (uint64_t)((i * 7919) % 200) * 10;   /* a permutation */
        EXPECT_EQ(timerq_insert(&q, &t[i]), 0);
    }
    EXPECT_TRUE(timerq_pop_expired(&q, 0) != NULL);   /* deadline 0 is due at 0 */
    EXPECT_TRUE(timerq_pop_expired(&q, 5) == NULL);
    uint64_t last = 0;
    int n = 1;
    struct timer *x;
    while ((x = timerq_pop_expired(&q, ~0ull))) {
        EXPECT_GE(x->deadline, last);
        EXPECT_EQ(x->index, -1);
        last = x->deadline;
        n++;
    }
    EXPECT_EQ(n, 200);
    free(q.heap);
}

TEST(timerq, remove_any_keeps_the_heap_valid)
{
    struct timerq q = {0};
    struct timer t[300];
    for (int i = 0; i < 300; i++) {
        timer_init(&t[i]);
        t[i].deadline = (uint64_t)((i * 104729) % 1000);
        timerq_insert(&q, &t[i]);
    }
    for (int i = 0; i < 300; i += 3)
        timerq_remove(&q, &t[i]);
    timerq_remove(&q, &t[0]);   /* already removed: no-op */
    EXPECT_EQ(q.n, 200);
    for (uint32_t i = 0; i < q.n; i++) {
        EXPECT_EQ(q.heap[i]->index, (int32_t)i);
        if (i)
            EXPECT_LE(q.heap[(i - 1) / 2]->deadline, q.heap[i]->deadline);
    }
    uint64_t last = 0;
    struct timer *x;
    while ((x = timerq_pop_expired(&q, ~0ull))) {
        EXPECT_GE(x->deadline, last);
        EXPECT_NE((x - t) % 3, 0);
        last = x->deadline;
    }
    free(q.heap);
}
