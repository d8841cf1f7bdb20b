/* QoS-ordered wait lists (see sr/wait.h; add, remove and claim are inline
 * there). Pure: host-tested. */
#include <sr/wait.h>

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
