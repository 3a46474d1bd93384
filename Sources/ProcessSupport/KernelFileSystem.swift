import CProcessSupport

/// A file system whose files are the kernel's interface, not stored bytes (`statfs(2)`'s `f_type`, the
/// `*_MAGIC` numbers of linux/magic.h). A regular file there (`/proc/sys/kernel/hostname`,
/// `/sys/.../uevent`) reports size 0 while it holds content, and writing it changes the kernel: storage-ctl
/// never takes one for a simulated drive or a `debug_file` (`FileDescriptor.kernelFileSystem()`, the one test).
///
/// devtmpfs is missing on purpose: it reports tmpfs's magic (0x01021994), as `/dev/shm` and `/run` do, and
/// a regular file on it is an ordinary stored file.
public struct KernelFileSystem: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int64
    /// The name mount(8) shows.
    public let name: String

    public init?(rawValue: Int64) {
        guard let known = KernelFileSystem.all.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = known
    }

    private init(_ rawValue: Int64, _ name: String) {
        self.rawValue = rawValue
        self.name = name
    }

    /// The corresponding C constant is `PROC_SUPER_MAGIC`.
    public static let proc = KernelFileSystem(0x9fa0, "proc")
    /// The corresponding C constant is `SYSFS_MAGIC`.
    public static let sysfs = KernelFileSystem(0x6265_6572, "sysfs")
    /// The corresponding C constant is `CGROUP_SUPER_MAGIC`.
    public static let cgroup = KernelFileSystem(0x27e0eb, "cgroup")
    /// The corresponding C constant is `CGROUP2_SUPER_MAGIC`.
    public static let cgroup2 = KernelFileSystem(0x6367_7270, "cgroup2")
    /// The corresponding C constant is `DEBUGFS_MAGIC`.
    public static let debugfs = KernelFileSystem(0x6462_6720, "debugfs")
    /// The corresponding C constant is `CONFIGFS_MAGIC`.
    public static let configfs = KernelFileSystem(0x6265_6570, "configfs")
    /// The corresponding C constant is `SECURITYFS_MAGIC`.
    public static let securityfs = KernelFileSystem(0x7363_6673, "securityfs")
    /// The corresponding C constant is `TRACEFS_MAGIC`.
    public static let tracefs = KernelFileSystem(0x7472_6163, "tracefs")
    /// The corresponding C constant is `BPF_FS_MAGIC`.
    public static let bpf = KernelFileSystem(0xcafe_4a11, "bpf")
    /// The corresponding C constant is `PSTOREFS_MAGIC`.
    public static let pstore = KernelFileSystem(0x6165_676c, "pstore")
    /// The corresponding C constant is `EFIVARFS_MAGIC`.
    public static let efivarfs = KernelFileSystem(0xde5e_81e4, "efivarfs")
    /// The corresponding C constant is `SELINUX_MAGIC`.
    public static let selinuxfs = KernelFileSystem(0xf97c_ff8c, "selinuxfs")
    /// The corresponding C constant is `SMACK_MAGIC`.
    public static let smackfs = KernelFileSystem(0x4341_5d53, "smackfs")
    /// The corresponding C constant is `FUSE_CTL_SUPER_MAGIC`.
    public static let fusectl = KernelFileSystem(0x6573_5543, "fusectl")
    /// The corresponding C constant is `BINFMTFS_MAGIC`.
    public static let binfmtMisc = KernelFileSystem(0x4249_4e4d, "binfmt_misc")
    /// The corresponding C constant is `RDTGROUP_SUPER_MAGIC` (resctrl).
    public static let resctrl = KernelFileSystem(0x0765_5821, "resctrl")
    /// The corresponding C constant is `NSFS_MAGIC`.
    public static let nsfs = KernelFileSystem(0x6e73_6673, "nsfs")
    /// The corresponding C constant is `DEVPTS_SUPER_MAGIC`.
    public static let devpts = KernelFileSystem(0x1cd1, "devpts")
    /// The corresponding C constant is `OPENPROM_SUPER_MAGIC`.
    public static let openprom = KernelFileSystem(0x9fa1, "openpromfs")
    /// The corresponding C constant is `USBDEVICE_SUPER_MAGIC`.
    public static let usbdevfs = KernelFileSystem(0x9fa2, "usbdevfs")
    /// mqueue's magic (`MQUEUE_MAGIC` in ipc/mqueue.c).
    public static let mqueue = KernelFileSystem(0x1980_0202, "mqueue")

    public static let all: [KernelFileSystem] = [
        proc, sysfs, cgroup, cgroup2, debugfs, configfs, securityfs, tracefs, bpf, pstore, efivarfs,
        selinuxfs, smackfs, fusectl, binfmtMisc, resctrl, nsfs, devpts, openprom, usbdevfs, mqueue,
    ]

    /// What a refusal says: `a file of the kernel's proc file system`.
    public var description: String { "a file of the kernel's \(name) file system" }
}

extension FileDescriptor {
    /// fstatfs(2) on this descriptor: the kernel file system it lies on, or nil for a file system that stores
    /// files (ext4, xfs, tmpfs, nfs, ...). Asked of the descriptor that will be used, so a path swapped after
    /// the check cannot pass.
    public func kernelFileSystem() throws(Errno) -> KernelFileSystem? {
        var type: Int64 = 0
        try SystemCall.nothingOrErrno { cps_fstatfs_type(rawValue, &type) }.get()
        return KernelFileSystem(rawValue: type)
    }
}
