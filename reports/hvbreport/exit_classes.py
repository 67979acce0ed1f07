"""One taxonomy of exit reasons, so that exits of different sources line up.

exits.csv names reasons the way each source counts them (results/FORMAT.md):
KVM's binary statistics (kvm-stats), the reference VMM's own count (vmm),
Xen's trace of SVM or VMX exit codes and of PV entries (xentrace), and, for
host probes to come, the kvm:kvm_exit tracepoint's reason names as `perf kvm
stat` prints them (kvm-trace, VMX and SVM).  This table maps every such raw
name onto one class.  It is data: one row per raw name (or a name pattern
for the names the runners generate, e.g. svm.exception_<vector>), with a
note where the source's count is not an exit or overlaps others.

A name the table does not know maps to "other" and is returned as unknown,
so a report lists it rather than dropping it.
"""

import re

# Classes in display order: (key, label).
CLASSES = [
    ("pio", "port I/O"),
    ("mmio", "MMIO / NPF / EPT"),
    ("cpuid", "cpuid"),
    ("msr", "MSR"),
    ("hypercall", "hypercall"),
    ("halt", "halt"),
    ("interrupt", "interrupt (external, window, IPI)"),
    ("exception", "exception (page fault, trap)"),
    ("other", "other"),
]
CLASS_KEYS = [k for k, _ in CLASSES]
CLASS_LABEL = dict(CLASSES)

# Reasons that are a source's count of all exits, not a reason.
TOTAL_REASONS = ("all", "total", "exits")

# Notes on what a raw count is, where it is not simply "exits of this kind".
OVERLAP = ("overlaps: KVM counts it beside the exit's own kind (under PVM every trapped "
           "port or MMIO access lands here and io/mmio stay 0)")
NOT_EXIT_SIGNAL = ("not a guest event: KVM_RUN returned to userspace for a pending signal; "
                   "also counted in total")
SUBSET = "a subset of total: the exits that reached the VMM in userspace"
PV_ENTRY = "not a VM exit: a PV guest's entry into Xen"
TRACE_EVENT = "a kvm tracepoint event, not a partition of exits: several fire for one exit"
TRACE_USER = TRACE_EVENT + " (KVM_RUN returned to userspace with this reason)"

# (prefix, raw name or regular expression, class, note).  prefix selects the
# source family: "kvm" for kvm-stats, "vmm" for the reference VMM's
# userspace_* reasons, "svm."/"vmx." for xentrace (and kvm-trace) exit codes,
# "pv." for xentrace PV entries, "kvm-trace." for perf kvm stat names.
# A name given as a plain string matches exactly; a compiled pattern fully.
P = re.compile
TABLE = [
    # KVM binary statistics (runners/kvm/stats.c: "<stat>_exits" -> "<stat>",
    # halt_exits -> hlt, hypercalls -> hypercall, insn_emulation as is).
    ("kvm", "io", "pio", None),
    ("kvm", "mmio", "mmio", None),
    ("kvm", "hlt", "halt", None),
    ("kvm", "hypercall", "hypercall", None),
    ("kvm", "irq", "interrupt", "external interrupts"),
    ("kvm", "irq_window", "interrupt", None),
    ("kvm", "nmi_window", "interrupt", None),
    ("kvm", "request_irq", "interrupt", "exits to userspace so the VMM can inject an interrupt"),
    ("kvm", "notify_window", "other", None),
    ("kvm", "signal", "other", NOT_EXIT_SIGNAL),
    ("kvm", "insn_emulation", "other", OVERLAP),
    # The reference VMM (hv/exit.c reason names, "userspace_" in front).
    ("vmm", "userspace_io", "pio", SUBSET),
    ("vmm", "userspace_mmio", "mmio", SUBSET),
    ("vmm", "userspace_hlt", "halt", SUBSET),
    ("vmm", "userspace_hypercall", "hypercall", SUBSET),
    ("vmm", "userspace_x86_rdmsr", "msr", SUBSET),
    ("vmm", "userspace_x86_wrmsr", "msr", SUBSET),
    ("vmm", "userspace_exception", "exception", SUBSET),
    ("vmm", "userspace_debug", "exception", SUBSET),
    ("vmm", "userspace_irq_window_open", "interrupt", SUBSET),
    ("vmm", "userspace_intr", "interrupt", SUBSET),
    ("vmm", "userspace_nmi", "interrupt", SUBSET),
    ("vmm", "userspace_set_tpr", "interrupt", SUBSET),
    ("vmm", "userspace_tpr_access", "interrupt", SUBSET),
    ("vmm", "userspace_ioapic_eoi", "interrupt", SUBSET),
    ("vmm", P(r"userspace_\w+"), "other", SUBSET),
    # AMD SVM exit codes (probes/xentrace.c svm_name).
    ("svm.", "ioio", "pio", None),
    ("svm.", "npf", "mmio", "nested page fault: MMIO emulation or a p2m fault"),
    ("svm.", "cpuid", "cpuid", None),
    ("svm.", "msr", "msr", None),
    ("svm.", "vmmcall", "hypercall", None),
    ("svm.", "hlt", "halt", None),
    ("svm.", P(r"intr|nmi|smi|init|vintr|avic_incomplete_ipi|avic_noaccel"), "interrupt", None),
    ("svm.", P(r"exception_\w+|swint|icebp|shutdown"), "exception", None),
    ("svm.", P(r"cr\d+_(read|write|write_trap)|dr\d+_(read|write)|cr0_sel_write"), "other",
     None),
    ("svm.", P(r"(idtr|gdtr|ldtr|tr)_(read|write)|rdtscp?|rdpmc|rdpru|pushf|popf|rsm|iret|"
               r"invd|pause|invlpga?|task_switch|ferr_freeze|vmrun|vmload|vmsave|stgi|clgi|"
               r"skinit|wbinvd|monitor|mwait|mwait_conditional|xsetbv|efer_write_trap|"
               r"vmgexit|invalid|0x[0-9a-f]+"), "other", None),
    # Intel VMX basic exit reasons (probes/xentrace.c vmx_names).
    ("vmx.", "io_instruction", "pio", None),
    ("vmx.", P(r"ept_violation|ept_misconfig|apic_access"), "mmio", None),
    ("vmx.", "cpuid", "cpuid", None),
    ("vmx.", P(r"msr_read|msr_write"), "msr", None),
    ("vmx.", "vmcall", "hypercall", None),
    ("vmx.", "hlt", "halt", None),
    ("vmx.", P(r"external_interrupt|interrupt_window|nmi_window|init|sipi|io_smi|other_smi|"
               r"tpr_below_threshold|eoi_induced|apic_write|preemption_timer"), "interrupt",
     None),
    ("vmx.", P(r"exception_nmi|triple_fault"), "exception",
     "exception_nmi: every intercepted exception (#PF, #UD, ...) and NMIs"),
    ("vmx.", P(r"task_switch|getsec|invd|invlpg|rdpmc|rdtscp?|rsm|vmclear|vmlaunch|vmptrld|"
               r"vmptrst|vmread|vmresume|vmwrite|vmxoff|vmxon|cr_access|dr_access|"
               r"invalid_guest_state|msr_loading|mwait|monitor_trap_flag|monitor|pause|"
               r"mce_during_vmentry|gdtr_idtr|ldtr_tr|invept|invvpid|wbinvd|xsetbv|rdrand|"
               r"invpcid|vmfunc|encls|rdseed|pml_full|xsaves|xrstors|spp|umwait|tpause|"
               r"loadiwkey|bus_lock|notify|0x[0-9a-f]+"), "other", None),
    # Xen PV entries (probes/xentrace.c pv_name): not exits.
    ("pv.", "hypercall.xen_version", "hypercall", PV_ENTRY),
    ("pv.", P(r"hypercall\.(iret|set_segment_base|stack_switch)"), "exception",
     PV_ENTRY + ": the return from (or set-up for) a bounced trap or system call"),
    ("pv.", P(r"hypercall\.\w+"), "hypercall", PV_ENTRY),
    ("pv.", P(r"trap|math_state_restore"), "exception", PV_ENTRY + ": a bounced trap"),
    ("pv.", P(r"page_fault|paging_fixup|gdt_ldt_mapping_fault"), "exception",
     PV_ENTRY + ": a page fault Xen handled or bounced"),
    ("pv.", "forced_invalid_op", "cpuid", PV_ENTRY + ": Xen's forced-emulation prefix (cpuid)"),
    ("pv.", P(r"emulate_privop|emulate_4gb|ptwr_emulation(_pae)?|hypercall_v1|0x[0-9a-f]+"),
     "other", PV_ENTRY + ": an emulated privileged instruction or page-table write"),
    # kvm:kvm_exit reasons as `perf kvm stat` prints them (host probes to
    # come): Linux's VMX_EXIT_REASONS (upper case) and SVM_EXIT_REASONS
    # (lower case, "PF excp" for exceptions, "hypercall" for vmmcall).
    ("kvm-trace.", P(r"IO_INSTRUCTION|io"), "pio", None),
    ("kvm-trace.", P(r"EPT_VIOLATION|EPT_MISCONFIG|APIC_ACCESS|npf"), "mmio", None),
    ("kvm-trace.", P(r"CPUID|cpuid"), "cpuid", None),
    ("kvm-trace.", P(r"MSR_READ|MSR_WRITE|msr"), "msr", None),
    ("kvm-trace.", P(r"VMCALL|hypercall|vmmcall"), "hypercall", None),
    ("kvm-trace.", P(r"HLT|hlt"), "halt", None),
    ("kvm-trace.", P(r"EXTERNAL_INTERRUPT|INTERRUPT_WINDOW|NMI_WINDOW|PREEMPTION_TIMER|"
                     r"EOI_INDUCED|APIC_WRITE|TPR_BELOW_THRESHOLD|INIT_SIGNAL|SIPI_SIGNAL|"
                     r"intr|vintr|nmi|smi|init|avic_incomplete_ipi|"
                     r"avic_unaccelerated_access"), "interrupt", None),
    ("kvm-trace.", P(r"EXCEPTION_NMI|TRIPLE_FAULT|[A-Z]{2} excp|shutdown"), "exception", None),
    ("kvm-trace.", P(r"[A-Za-z0-9_]+"), "other", None),
    # kvm-trace's events counted by kind where they are not paired exits
    # (probes/kvm_trace.c; all that fires under nested PVM): events, not a
    # partition, several per exit (its paired vmx./svm. names are above).
    ("kvm-trace-event", P(r"kvm_pio\.pio_(in|out)"), "pio", TRACE_EVENT),
    ("kvm-trace-event", P(r"kvm_mmio\.(mmio_read_unsatisfied|mmio_read|mmio_write|mmio_other)"),
     "mmio", TRACE_EVENT),
    ("kvm-trace-event", P(r"kvm_msr\.(read|write)"), "msr", TRACE_EVENT),
    ("kvm-trace-event", "kvm_hypercall", "hypercall", TRACE_EVENT),
    ("kvm-trace-event", "kvm_cpuid", "cpuid", TRACE_EVENT),
    ("kvm-trace-event", "kvm_page_fault", "exception", TRACE_EVENT),
    ("kvm-trace-event", "kvm_emulate_insn", "other",
     TRACE_EVENT + ": one per instruction KVM emulated, not an exit"),
    ("kvm-trace-event", "kvm_userspace_exit.io", "pio", TRACE_USER),
    ("kvm-trace-event", "kvm_userspace_exit.mmio", "mmio", TRACE_USER),
    ("kvm-trace-event", "kvm_userspace_exit.hlt", "halt", TRACE_USER),
    ("kvm-trace-event", P(r"kvm_userspace_exit\.(hypercall|papr_hcall|hyperv)"), "hypercall",
     TRACE_USER),
    ("kvm-trace-event", P(r"kvm_userspace_exit\.x86_(rd|wr)msr"), "msr", TRACE_USER),
    ("kvm-trace-event", P(r"kvm_userspace_exit\.(irq_window_open|intr|nmi|set_tpr|tpr_access|"
                          r"ioapic_eoi)"), "interrupt", TRACE_USER),
    ("kvm-trace-event", P(r"kvm_userspace_exit\.(exception|debug)"), "exception", TRACE_USER),
    ("kvm-trace-event", P(r"kvm_userspace_exit\.(restart|error|\w+|0x[0-9a-f]+)"), "other",
     TRACE_USER),
]

# The sources' name families.  A reason's family comes from its source
# column where known, else from its prefix.
SOURCE_FAMILY = {"kvm-stats": "kvm", "vmm": "vmm", "kvm-trace": "kvm-trace-event"}


def _family(reason, source):
    for prefix in ("svm.", "vmx.", "pv.", "kvm-trace."):
        if reason.startswith(prefix):
            name = reason[len(prefix):]
            if prefix in ("svm.", "vmx.") and source == "kvm-trace":
                # a paired exit split by its access, as perf kvm stat does
                # (vmx.io_instruction.pio_out): the exit's own name classifies it
                name = name.split(".", 1)[0]
            return prefix, name
    if source in SOURCE_FAMILY:
        return SOURCE_FAMILY[source], reason
    if reason.startswith("userspace_"):
        return "vmm", reason
    return "kvm", reason


def lookup(reason, source=None):
    """(class key, note or None, known) for one raw reason of exits.csv.

    source: the row's source column (None or "" when the run predates it).
    known is False for a name the table does not have: it maps to "other".
    """
    fam, name = _family(reason, source or "")
    for prefix, pat, cls, note in TABLE:
        if prefix != fam:
            continue
        if (pat == name) if isinstance(pat, str) else pat.fullmatch(name):
            return cls, note, True
    return "other", None, False


def classify(reason, source=None):
    """The class key of a raw reason ("other" when unknown)."""
    return lookup(reason, source)[0]


def is_total(reason):
    return reason.lower() in TOTAL_REASONS
