/*
 * hvbench migrate-dest: the destination of a kvm migration (internal: the
 * kvm runner starts it on a socket, runners/kvm/migrate.c; not listed in
 * `hvbench --help`).
 */
#include "cmd.h"
#include "kvm/kvm.h"

static int cmd_migrate_dest(int argc, char **argv)
{
	return kvm_mig_dest_main(argc, argv);
}

static const struct hvb_cmd migrate_dest_cmd = {
	.name = "migrate-dest",
	.summary = "internal: the destination VMM of a kvm migration",
	.main = cmd_migrate_dest,
	.order = 100, /* hidden */
};
HVB_CMD(migrate_dest_cmd);
