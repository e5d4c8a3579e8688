/*
 * insncount: a minimal QEMU TCG plugin that counts the guest instructions a program
 * executes (all threads), like QEMU's own tests/plugin/insn.c ("libinsn.so"), which
 * Debian's qemu-user does not ship. Written for the plugin API of Debian 12's QEMU 7.2
 * (plugin API version 1); it uses only calls present since the API's first version.
 *
 *   qemu-aarch64 -plugin cross/insn/insncount.so,outfile=FILE  prog args...
 *
 * Counting is per executed translation block (n instructions each), added atomically,
 * so threads do not lose counts. Copyright activityd authors, Apache-2.0.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct qemu_info_t qemu_info_t; /* only passed through */
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;

static _Atomic uint64_t insns;
static char outfile[4096];

static void tb_exec(unsigned int vcpu, void *n)
{
    (void)vcpu;
    atomic_fetch_add_explicit(&insns, (uint64_t)(uintptr_t)n, memory_order_relaxed);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)n);
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    (void)id; (void)p;
    char line[64];
    snprintf(line, sizeof line, "insns: %" PRIu64 "\n", atomic_load(&insns));
    if (outfile[0]) {
        FILE *f = fopen(outfile, "w");
        if (f) { fputs(line, f); fclose(f); return; }
    }
    fputs(line, stderr); /* qemu_plugin_outs() prints only with -d plugin */
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "outfile=", 8) == 0) {
            snprintf(outfile, sizeof outfile, "%s", argv[i] + 8);
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
