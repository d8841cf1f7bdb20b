/*
 * /init of the `make compare` initramfs: runs each benchmark program in
 * turn (its output goes to the console), then powers the machine off so
 * QEMU exits.
 */
#include <stdio.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    static char *const programs[] = {"/linux_threads", "/go_bench", "/tokio_bench"};
    for (unsigned i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
        pid_t pid = fork();
        if (pid == 0) {
            char *const argv[] = {programs[i], NULL};
            execv(programs[i], argv);
            printf("compare: cannot run %s\n", programs[i]);
            _exit(127);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
            printf("compare: %s failed (status 0x%x)\n", programs[i], status);
    }
    printf("compare: done\n");
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
