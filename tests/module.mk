# Unit tests: each tests/unit/test_*.c is a program linked with what its
# NAME_LINK lists, and nothing else (kvm-selftests style): the smallest set
# of layer groups that links, so a file that calls into a layer above its
# own fails to link its test.  An entry is a group of the Makefile's
# LINK_GROUPS (src runners runners-common lib hv probes workloads native-rt)
# or one source file, for a test of one file whose layer as a whole needs
# more than that file does (src/stats.c needs lib/, the commands in src/
# need everything).  A test of lib/ never lists runners, runners-common or
# src: that is the layering check.  An undeclared test does not build.
UNIT_TESTS += $(sort $(wildcard tests/unit/test_*.c))

# Header-only code (the guest runtime's Xen PV, ring, split-driver and virtio helpers): nothing.
test_xen_pv_LINK :=
test_xen_ring_LINK :=
test_xen_io_LINK :=
test_virtio_guest_LINK :=
test_networds_LINK := workloads native-rt
test_netframe_LINK := workloads native-rt
# The guest virtio-blk driver, its sources included (the guest runtime is no
# host layer): nothing.
test_virtio_blk_driver_LINK :=
test_virtio_net_driver_LINK :=
# hv/: the reference core alone.
test_hv_elf_LINK := hv
test_hv_paging_LINK := hv
test_hv_guest_LINK := hv
test_hv_seccomp_LINK := hv
test_hv_bare_loop_LINK := hv
test_hv_irqchip_LINK := hv
# Dirty tracking, vCPU state and migration (two processes over a socket).
test_hv_dirty_LINK := hv
test_hv_migrate_LINK := hv
test_virtio_LINK := hv
test_virtio_blk_LINK := hv
test_virtio_net_LINK := hv
# probes/ alone.
test_kvm_stats_LINK := probes
test_perf_LINK := probes
test_xentrace_LINK := probes
test_lathist_LINK := probes
test_tsc_LINK := probes
test_vmcost_LINK := probes
test_kvm_trace_LINK := hv probes
# The per-CPU run locks (probes/cpulock.c): libc only.
test_cpulock_LINK := probes/cpulock.c
# workloads/ with the hosted rt_* they call.
test_harness_LINK := workloads native-rt
test_workloads_LINK := workloads native-rt
test_harness_req_LINK := workloads native-rt
test_harness_params_LINK := workloads native-rt
# svc/open-loop's accounting (workloads/svc/sched.c) on a synthetic clock.
test_svc_sched_LINK := workloads native-rt
# migrate/dirty natively through the harness (rows, the working-set check).
test_migrate_dirty_LINK := workloads native-rt
test_harness_loss_LINK := workloads native-rt
test_harness_smp_LINK := workloads native-rt
test_irq_micro_LINK := workloads native-rt
test_io_LINK := workloads native-rt
# lib/: without runners/ and src/.
test_console_codec_LINK := lib probes workloads native-rt
test_records_LINK := lib probes workloads native-rt
test_results_LINK := lib probes workloads native-rt
test_host_kind_LINK := lib probes workloads native-rt
test_host_irq_LINK := lib probes workloads native-rt
# The JSON writer of every document (lib/json_out.c).
test_json_out_LINK := lib probes workloads native-rt
# One runner file over runners/common/ and the layers below.
test_xen_trace_LINK := runners/xen/trace.c runners-common lib hv probes workloads native-rt
# A Xen live migration's rounds, relay pacing and variables: libc only.
test_xen_migrate_LINK := runners/xen/migrate_progress.c
# The run's configuration (runners/common/config.c: the probe switches).
test_config_LINK := runners-common lib hv probes workloads native-rt
# --param resolution (config.c) and its harness words (guest.c).
test_params_LINK := runners-common lib hv probes workloads native-rt
# The runner registry (hvb_runner_find): every runner.
test_xen_runner_LINK := runners runners-common lib hv probes workloads native-rt
# src/ files that tests reach one by one (the commands themselves are
# tested through the hvbench binary, tests/integration/).
test_stats_LINK := src/stats.c lib probes workloads native-rt
# The capacity search alone (pure; stats.c for the median).
test_capacity_search_LINK := src/capacity_search.c src/stats.c lib probes workloads native-rt
test_ab_LINK := src/stats.c lib probes workloads native-rt
# A side of hvbench ab: its words, identity and command line.
test_ab_side_LINK := src/ab_side.c lib probes workloads native-rt
test_placement_LINK := src/placement.c
test_compare_LINK := src/compare.c src/compare_context.c src/thresholds.c src/stats.c lib probes workloads native-rt
# Thresholds files, their derivation from run directories and their use
# in the verdict.
test_thresholds_LINK := src/thresholds.c src/thresholds_derive.c src/compare.c src/compare_context.c src/stats.c lib probes workloads native-rt
test_summary_LINK := src/summary.c src/compare.c src/compare_context.c src/thresholds.c src/stats.c lib probes workloads native-rt
# compare's CI outputs (JUnit, GitHub annotations) over the engine.
test_compare_junit_LINK := src/compare_ci.c src/compare_junit.c src/compare_annot.c src/compare_gate.c src/compare.c src/compare_context.c src/thresholds.c src/stats.c lib probes workloads native-rt
test_matrix_LINK := src/matrix.c runners runners-common lib hv probes workloads native-rt
test_summarize_LINK := src/summarize.c src/summary.c src/compare.c src/compare_context.c src/thresholds.c src/stats.c lib probes workloads native-rt
# runners/common's disk and host CPU accounting, alone over the layers below.
test_disk_LINK := runners/common/disk.c lib probes workloads native-rt
test_hostcpu_LINK := runners/common/hostcpu.c lib probes workloads native-rt
# The run's network namespace (root; skips without).
test_netns_LINK := runners/common/netns.c lib probes workloads native-rt
# The kvm runner's per-vCPU exit timing (stats.c and what it calls).
test_kvm_vmm_time_LINK := runners/kvm/stats.c runners/kvm/thread_placement.c runners-common lib hv probes workloads native-rt
# The capability probe's interrupt probe, caps naming and the counter relay.
test_caps_probe_LINK := runners/common/caps_probe.c runners/common/vmm_counters.c lib probes workloads native-rt
# The responder alone (it needs nothing but libc).
test_peer_LINK := runners/common/peer.c
# net/ natively end to end: the workloads over AF_PACKET against the responder.
test_net_native_LINK := runners/common/peer.c workloads native-rt
# The QMP client of the QEMU runners (and its JSON reader), alone.
test_qmp_LINK := runners/qemu/qmp.c runners/qemu/qmp_json.c runners/qemu/qmp_stats.c lib probes workloads native-rt
# The QEMU migration engine's parser, trigger and set-up (its process
# driver and QMP client with it).
test_qemu_migrate_LINK := runners/qemu/migrate.c runners/common/migrate_guest.c runners/qemu/proc.c runners/qemu/qmp.c runners/qemu/qmp_json.c lib probes workloads native-rt
# Thread placement probes (topology.c): probes/ alone.
test_thread_placement_LINK := probes
