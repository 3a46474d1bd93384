import CSGIO
import PRCore
import ProcessSupport

/// The Linux block layer's persistent reservation operations on a block node (`IOC_PR_*`,
/// <linux/pr.h>): the kernel's own `struct pr_ops`, which sd implements with PERSISTENT RESERVE OUT and
/// dm-multipath by sending REGISTER down every path of the map (the other operations down one).
///
/// Values in, values out: which change, and what the kernel said. No policy here (BlockReservationDevice
/// decides what a status means); no retries (an interrupted ioctl may already have reached the device).
public enum BlockPR {
    /// One change, with the SPC meaning of each key: `key` is ours (RESERVATION KEY), the other one the
    /// SERVICE ACTION RESERVATION KEY (the new key of REGISTER, the victim of PREEMPT).
    public enum Change: Equatable, Sendable {
        /// REGISTER; `ignoreExisting`: REGISTER AND IGNORE EXISTING KEY (PR_FL_IGNORE_KEY).
        case register(key: ReservationKey, newKey: ReservationKey, ignoreExisting: Bool)
        case reserve(key: ReservationKey, type: ReservationType)
        case release(key: ReservationKey, type: ReservationType)
        /// PREEMPT (`abort`: PREEMPT AND ABORT) of `victim`'s registrations.
        case preempt(key: ReservationKey, victim: ReservationKey, type: ReservationType, abort: Bool)
        case clear(key: ReservationKey)
    }

    /// What one ioctl came to.
    public enum Reply: Error, Equatable, Sendable {
        case done
        /// The status the kernel passed back from the device: 0x18 is RESERVATION CONFLICT (PR_STS_*; the
        /// 6.1 kernel passes the SCSI result, whose status byte says the same).
        case status(Int32)
        /// The ioctl failed: ENOTTY/EOPNOTSUPP, the node or driver lacks it; anything else, the path to the device.
        case failed(Errno)
    }

    /// RESERVATION CONFLICT as the kernel reports it (PR_STS_RESERVATION_CONFLICT, the SAM status).
    public static let reservationConflict: Int32 = 0x18

    /// The kernel's `enum pr_type` for an SPC type (PR_WRITE_EXCLUSIVE = 1 ... PR_EXCLUSIVE_ACCESS_ALL_REGS
    /// = 6: numbered without SPC's gaps); nil for a type the kernel cannot name (obsolete ones).
    public static func kernelType(_ type: ReservationType) -> UInt32? {
        switch type.rawValue {
        case 1: 1
        case 3: 2
        case 5: 3
        case 6: 4
        case 7: 5
        case 8: 6
        default: nil
        }
    }

    /// The SPC type of a kernel `enum pr_type`; nil for 0 (no reservation) or a value this program does not know.
    public static func reservationType(kernel: UInt32) -> ReservationType? {
        let spc: [UInt32: UInt8] = [1: 1, 2: 3, 3: 5, 4: 6, 5: 7, 6: 8]
        return spc[kernel].map(ReservationType.init(rawValue:))
    }

    /// The operation and the integers of its argument structure, as CSGIO maps them.
    static func arguments(_ change: Change) -> (operation: Int32, key: UInt64, other: UInt64, type: UInt32, flags: UInt32) {
        let ignoreKey: UInt32 = 1   // PR_FL_IGNORE_KEY
        switch change {
        case .register(let key, let newKey, let ignoreExisting):
            return (Int32(CSGIO_PR_REGISTER.rawValue), key.rawValue, newKey.rawValue, 0, ignoreExisting ? ignoreKey : 0)
        case .reserve(let key, let type):
            return (Int32(CSGIO_PR_RESERVE.rawValue), key.rawValue, 0, kernelType(type) ?? 0, 0)
        case .release(let key, let type):
            return (Int32(CSGIO_PR_RELEASE.rawValue), key.rawValue, 0, kernelType(type) ?? 0, 0)
        case .preempt(let key, let victim, let type, let abort):
            let operation = abort ? CSGIO_PR_PREEMPT_ABORT : CSGIO_PR_PREEMPT
            return (Int32(operation.rawValue), key.rawValue, victim.rawValue, kernelType(type) ?? 0, 0)
        case .clear(let key):
            return (Int32(CSGIO_PR_CLEAR.rawValue), key.rawValue, 0, 0, 0)
        }
    }

    /// The bytes the ioctl of `change` receives (the kernel's `struct pr_*` in this machine's byte order).
    public static func argumentBytes(_ change: Change) -> [UInt8] {
        let a = arguments(change)
        return argumentBytes(a.operation, a.key, a.other, a.type, a.flags)
    }

    /// The bytes of the 6.19 read structures: `struct pr_read_keys` as sent (room for `count` keys at
    /// `keysAddress`), `struct pr_read_reservation` as received.
    public static func readKeysBytes(generation: UInt32, count: UInt32, keysAddress: UInt64) -> [UInt8] {
        argumentBytes(Int32(CSGIO_PR_READ_KEYS.rawValue), keysAddress, 0, generation, count)
    }
    public static func readReservationBytes(key: UInt64, generation: UInt32, kernelType: UInt32) -> [UInt8] {
        argumentBytes(Int32(CSGIO_PR_READ_RESERVATION.rawValue), key, 0, kernelType, generation)
    }

    private static func argumentBytes(_ operation: Int32, _ key: UInt64, _ other: UInt64, _ type: UInt32, _ flags: UInt32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 64)
        let size = bytes.withUnsafeMutableBufferPointer {
            csgio_pr_argument(operation, key, other, type, flags, $0.baseAddress, UInt32($0.count))
        }
        return Array(bytes.prefix(Int(size)))
    }

    /// `IOC_PR_REGISTER (PR_FL_IGNORE_KEY)`: the ioctl's name, for messages and traces.
    public static func name(_ change: Change) -> String {
        switch change {
        case .register(_, _, let ignoreExisting): ignoreExisting ? "IOC_PR_REGISTER (PR_FL_IGNORE_KEY)" : "IOC_PR_REGISTER"
        case .reserve: "IOC_PR_RESERVE"
        case .release: "IOC_PR_RELEASE"
        case .preempt(_, _, _, let abort): abort ? "IOC_PR_PREEMPT_ABORT" : "IOC_PR_PREEMPT"
        case .clear: "IOC_PR_CLEAR"
        }
    }

    /// Whether a read's result says the kernel does not know the ioctl: ENOTTY from the block layer, EINVAL
    /// where it passes an unknown ioctl on to the driver (a dm-multipath map over sd on 6.1, seen on the test bed).
    static func lacksRead(_ result: Int32) -> Bool {
        result == -Errno.inappropriateIOCTLForDevice.rawValue || result == -Errno.invalidArgument.rawValue
    }

    /// The ioctl request number of `change` (for traces).
    public static func requestNumber(_ change: Change) -> UInt { UInt(csgio_pr_request(arguments(change).operation)) }

    /// The ioctl request numbers, REGISTER ... READ RESERVATION in CSGIO's order (for tests).
    public static var requestNumbers: [UInt] {
        (CSGIO_PR_REGISTER.rawValue...CSGIO_PR_READ_RESERVATION.rawValue).map { UInt(csgio_pr_request(Int32($0))) }
    }
}

extension SGIOTransport {
    /// One block-layer PR change on this node (a block device: `nodeKind == .blockDevice`).
    public func perform(_ change: BlockPR.Change) -> BlockPR.Reply {
        let a = BlockPR.arguments(change)
        // not retried on EINTR: the operation may already have reached the device
        let result = csgio_pr_change(fd.rawValue, a.operation, a.key, a.other, a.type, a.flags)
        if result < 0 { return .failed(Errno(rawValue: -result)) }
        return result == 0 ? .done : .status(result)
    }

    /// IOC_PR_READ_KEYS (Linux 6.19): the registered keys, or nil when the kernel lacks the ioctl (ENOTTY).
    public func readKeysThroughBlockLayer() -> Result<Registrations?, BlockPR.Reply> {
        var room: UInt32 = 64
        while true {
            var keys = [UInt64](repeating: 0, count: Int(room))
            var generation: UInt32 = 0, count = room
            let result = keys.withUnsafeMutableBufferPointer { csgio_pr_read_keys(fd.rawValue, &generation, &count, $0.baseAddress) }
            if BlockPR.lacksRead(result) { return .success(nil) }
            if result < 0 { return .failure(.failed(Errno(rawValue: -result))) }
            if result > 0 { return .failure(.status(result)) }
            // more keys than room: ask again with room for them all (SPC's limit is far below 65,536)
            if count > room, room < 65_536 {
                room = min(count, 65_536)
                continue
            }
            let received = keys[0..<Int(min(count, room))]
            return .success(Registrations(generation: generation, keys: received.map { ReservationKey($0) }))
        }
    }

    /// IOC_PR_READ_RESERVATION (Linux 6.19): the reservation, or nil when the kernel lacks the ioctl (ENOTTY).
    public func readReservationThroughBlockLayer() -> Result<ReservationState?, BlockPR.Reply> {
        var key: UInt64 = 0, generation: UInt32 = 0, type: UInt32 = 0
        let result = csgio_pr_read_reservation(fd.rawValue, &key, &generation, &type)
        if BlockPR.lacksRead(result) { return .success(nil) }
        if result < 0 { return .failure(.failed(Errno(rawValue: -result))) }
        if result > 0 { return .failure(.status(result)) }
        let reservation = BlockPR.reservationType(kernel: type).map { Reservation(key: ReservationKey(key), type: $0) }
        return .success(ReservationState(generation: generation, reservation: reservation))
    }
}
