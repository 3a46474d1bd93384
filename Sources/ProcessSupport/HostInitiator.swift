/// This host's initiator name when none is configured: `iqn.2024-01.local.storage-ctl:` and the host name
/// (lower case; anything but letters, digits, `-` and `.` written as `-`). storage-ctl uses it when neither
/// `initiator=` nor `--initiator` names one, the sg_persist personality when `$STORAGE_CTL_INITIATOR` is unset;
/// a simulated LU identifies the I_T nexus by it.
public enum HostInitiator {
    public static func derived() -> String {
        let host = Posix.hostName().lowercased().unicodeScalars.map { c -> Character in
            ("a"..."z").contains(c) || ("0"..."9").contains(c) || c == "-" || c == "." ? Character(c) : "-"
        }
        return "iqn.2024-01.local.storage-ctl:" + (host.isEmpty ? "localhost" : String(host))
    }
}
