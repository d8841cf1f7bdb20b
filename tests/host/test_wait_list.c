/* Wait lists and wakers (runtime/wait_list.c): QoS order, FIFO within a
 * class, exactly-once claims, stale nodes of a select skipped. */
#include <sr/wait.h>
#include <sr_test.h>

static int fired;
static void count_fire(struct waker *w)
{
    waker_set_done(w);
    fired++;
}

static void mk(struct waker *w, unsigned qos)
{
    *w = (struct waker){.fire = count_fire};
    waker_arm(w, qos);
}

TEST(wait_list, highest_qos_first_fifo_within_a_class)
{
    struct wait_list l = {0};
    struct waker w[6];
    struct wait_node n[6];
    static const unsigned qos[6] = {2, 4, 2, 0, 4, 0};
    for (int i = 0; i < 6; i++) {
        mk(&w[i], qos[i]);
        wait_node_init(&n[i], &w[i], i, NULL);
        wait_list_add(&l, &n[i]);
    }
    static const int order[6] = {3, 5, 0, 2, 1, 4};
    for (int i = 0; i < 6; i++) {
        struct wait_node *x = wait_list_claim(&l, 7);
        EXPECT_TRUE(x == &n[order[i]]);
        EXPECT_EQ(x->linked, 0);
        EXPECT_EQ(waker_state(x->waker), WAKER_CLAIMED);
        EXPECT_EQ(x->waker->which, order[i]);
        EXPECT_EQ(x->waker->result, 7);
    }
    EXPECT_TRUE(wait_list_claim(&l, 0) == NULL);
    EXPECT_TRUE(wait_list_empty(&l));
    EXPECT_TRUE(l.tail == NULL);
}

TEST(wait_list, remove_from_any_position_and_twice)
{
    struct wait_list l = {0};
    struct waker w[4];
    struct wait_node n[4];
    for (int i = 0; i < 4; i++) {
        mk(&w[i], 1);
        wait_node_init(&n[i], &w[i], i, NULL);
        wait_list_add(&l, &n[i]);
    }
    wait_list_remove(&n[1]);
    wait_list_remove(&n[1]);   /* no-op */
    wait_list_remove(&n[3]);   /* tail */
    wait_list_remove(&n[0]);   /* head */
    EXPECT_TRUE(l.head == &n[2] && l.tail == &n[2]);
    EXPECT_TRUE(n[1].list == &l);   /* kept: names the lock for clean-up */
    wait_list_remove(&n[2]);
    EXPECT_TRUE(wait_list_empty(&l) && l.tail == NULL);
}

TEST(wait_list, a_select_fires_once_and_its_other_nodes_are_skipped)
{
    struct wait_list a = {0}, b = {0};
    struct waker sel, other;
    mk(&sel, 2);
    mk(&other, 2);
    struct wait_node na, nb, no;
    wait_node_init(&na, &sel, 0, NULL);
    wait_node_init(&nb, &sel, 1, NULL);
    wait_node_init(&no, &other, 0, NULL);
    wait_list_add(&a, &na);
    wait_list_add(&b, &nb);
    wait_list_add(&b, &no);
    fired = 0;
    struct wait_node *x = wait_list_claim(&a, 0);
    EXPECT_TRUE(x == &na);
    waker_fire(x->waker);
    /* b's first node belongs to the select that already fired: skipped. */
    x = wait_list_claim(&b, 0);
    EXPECT_TRUE(x == &no);
    EXPECT_EQ(nb.linked, 0);
    waker_fire(x->waker);
    EXPECT_EQ(fired, 2);
    EXPECT_EQ(sel.which, 0);
    EXPECT_EQ(waker_state(&sel), WAKER_DONE);
    /* A timeout after the fire loses the race. */
    EXPECT_TRUE(!waker_claim(&sel, -1, -1));
}

TEST(wait_list, claim_all_counts_only_live_waiters)
{
    struct wait_list l = {0};
    struct waker w[5];
    struct wait_node n[5];
    for (int i = 0; i < 5; i++) {
        mk(&w[i], (unsigned)(i % 3));
        wait_node_init(&n[i], &w[i], i, NULL);
        wait_list_add(&l, &n[i]);
    }
    EXPECT_TRUE(waker_claim(&w[2], -1, -110));   /* its own timeout won */
    fired = 0;
    EXPECT_EQ(wait_list_claim_all(&l, -32), 4);
    EXPECT_EQ(fired, 4);
    EXPECT_EQ(w[0].result, -32);
    EXPECT_EQ(w[2].result, -110);
}

/* Every way off a list leaves a node's links NULL (a node that is re-added
 * to an empty list, as a channel's record is, then needs no link stores
 * but the list's). */
TEST(wait_list, a_node_taken_off_in_any_way_has_null_links)
{
    struct wait_list l = {0};
    struct waker w[4];
    struct wait_node n[4];
    for (int i = 0; i < 4; i++) {
        mk(&w[i], i == 2 ? 0 : 1);   /* n[2] goes first */
        wait_node_init(&n[i], &w[i], i, NULL);
        wait_list_add(&l, &n[i]);
    }
    struct wait_node *x = wait_list_claim(&l, 0);   /* n[2], with others behind */
    EXPECT_TRUE(x == &n[2]);
    EXPECT_TRUE(x->next == NULL && x->prev == NULL);
    wait_list_unlink_head(&l, &n[0]);               /* a take, others behind */
    EXPECT_TRUE(n[0].next == NULL && n[0].prev == NULL);
    EXPECT_TRUE(l.head == &n[1] && n[1].prev == NULL);
    wait_list_remove(&n[3]);                        /* the tail */
    EXPECT_TRUE(n[3].next == NULL && n[3].prev == NULL);
    x = wait_list_claim(&l, 0);                     /* the last one */
    EXPECT_TRUE(x == &n[1] && x->next == NULL && x->prev == NULL);
    EXPECT_TRUE(l.head == NULL && l.tail == NULL);
}
