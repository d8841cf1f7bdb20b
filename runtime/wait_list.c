/* QoS-ordered wait lists (see sr/wait.h). Pure: host-tested. */
#include <sr/wait.h>

void wait_list_add(struct wait_list *l, struct wait_node *n)
{
    unsigned q = n->waker->qos;
    struct wait_node *p = l->tail;
    while (p && p->waker->qos > q)   /* lower class (larger value) waits behind */
        p = p->prev;
    n->prev = p;
    n->next = p ? p->next : l->head;
    if (n->next)
        n->next->prev = n;
    else
        l->tail = n;
    if (p)
        p->next = n;
    else
        l->head = n;
    n->list = l;
    n->linked = 1;
}

void wait_list_remove(struct wait_node *n)
{
    if (!n->linked)
        return;
    struct wait_list *l = n->list;
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->next = n->prev = NULL;
    n->linked = 0;
}

struct wait_node *wait_list_claim(struct wait_list *l, int32_t result)
{
    struct wait_node *n;
    while ((n = l->head)) {
        wait_list_remove(n);
        if (waker_claim(n->waker, n->index, result))
            return n;
    }
    return NULL;
}

int wait_list_claim_all(struct wait_list *l, int32_t result)
{
    int count = 0;
    struct wait_node *n;
    while ((n = wait_list_claim(l, result))) {
        waker_fire(n->waker);
        count++;
    }
    return count;
}
