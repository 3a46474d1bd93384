import Testing
import PRCore
import Transports

/// The kernel's PR ioctl arguments, byte for byte, as `WireBytesTests` pins CDBs: what IOC_PR_* receives
/// (struct pr_registration, pr_reservation, pr_preempt, pr_clear; the 6.19 pr_read_keys and
/// pr_read_reservation), filled by CSGIO from <linux/pr.h>. Native byte order: these are x86-64/arm64 bytes.
@Suite("BlockPR: the block layer's PR ioctl arguments, byte for byte")
struct BlockPRTests {
    static let ours = ReservationKey(0xbac001), theirs = ReservationKey(0xbac999)

    func hex(_ bytes: [UInt8]) -> String {
        stride(from: 0, to: bytes.count, by: 8).map { start in
            bytes[start..<min(start + 8, bytes.count)].map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        }.joined(separator: " ")
    }

    @Test("struct pr_registration: old_key (our RESERVATION KEY), new_key (SARK), flags; PR_FL_IGNORE_KEY for RAIEK")
    func registration() {
        #expect(hex(BlockPR.argumentBytes(.register(key: ReservationKey(0), newKey: Self.ours, ignoreExisting: false)))
                == "0000000000000000 01c0ba0000000000 0000000000000000")
        #expect(hex(BlockPR.argumentBytes(.register(key: Self.ours, newKey: ReservationKey(0), ignoreExisting: false)))
                == "01c0ba0000000000 0000000000000000 0000000000000000")
        #expect(hex(BlockPR.argumentBytes(.register(key: ReservationKey(0), newKey: Self.ours, ignoreExisting: true)))
                == "0000000000000000 01c0ba0000000000 0100000000000000")
    }

    @Test("struct pr_reservation: key, the kernel's type (Exclusive Access is PR_EXCLUSIVE_ACCESS = 2), flags")
    func reservation() {
        #expect(hex(BlockPR.argumentBytes(.reserve(key: Self.ours, type: .exclusiveAccess))) == "01c0ba0000000000 0200000000000000")
        #expect(hex(BlockPR.argumentBytes(.release(key: Self.ours, type: .writeExclusive))) == "01c0ba0000000000 0100000000000000")
    }

    @Test("struct pr_preempt: old_key ours, new_key the victim's, type, flags; PREEMPT AND ABORT is another ioctl")
    func preempt() {
        #expect(hex(BlockPR.argumentBytes(.preempt(key: Self.ours, victim: Self.theirs, type: .exclusiveAccess, abort: false)))
                == "01c0ba0000000000 99c9ba0000000000 0200000000000000")
        #expect(BlockPR.argumentBytes(.preempt(key: Self.ours, victim: Self.theirs, type: .exclusiveAccess, abort: true))
                == BlockPR.argumentBytes(.preempt(key: Self.ours, victim: Self.theirs, type: .exclusiveAccess, abort: false)))
    }

    @Test("struct pr_clear: key, flags, padding")
    func clear() {
        #expect(hex(BlockPR.argumentBytes(.clear(key: Self.ours))) == "01c0ba0000000000 0000000000000000")
    }

    @Test("Linux 6.19's struct pr_read_keys (generation, num_keys, keys_ptr) and pr_read_reservation (key, generation, type)")
    func readStructures() {
        #expect(hex(BlockPR.readKeysBytes(generation: 0, count: 64, keysAddress: 0x1122_3344_5566_7788))
                == "0000000040000000 8877665544332211")
        #expect(hex(BlockPR.readReservationBytes(key: Self.ours.rawValue, generation: 7, kernelType: 2))
                == "01c0ba0000000000 0700000002000000")
    }

    @Test("the ioctl numbers: _IOW('p', 200...205), _IOWR('p', 206), _IOR('p', 207), with each structure's size")
    func requestNumbers() {
        #expect(BlockPR.requestNumbers == [0x4018_70C8, 0x4010_70C9, 0x4010_70CA, 0x4018_70CB, 0x4018_70CC, 0x4010_70CD,
                                           0xC010_70CE, 0x8010_70CF])
    }

    @Test("SPC types to the kernel's enum pr_type and back; obsolete types have none")
    func types() {
        let pairs: [(UInt8, UInt32)] = [(1, 1), (3, 2), (5, 3), (6, 4), (7, 5), (8, 6)]
        for (spc, kernel) in pairs {
            #expect(BlockPR.kernelType(ReservationType(rawValue: spc)) == kernel)
            #expect(BlockPR.reservationType(kernel: kernel) == ReservationType(rawValue: spc))
        }
        #expect(BlockPR.kernelType(ReservationType(rawValue: 2)) == nil)
        #expect(BlockPR.reservationType(kernel: 0) == nil)
    }
}
