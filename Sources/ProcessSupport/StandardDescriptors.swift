#if canImport(Glibc)
import Glibc
#endif

/// Descriptors 0, 1 and 2 made safe before anything is opened, in both personalities.
///
/// A caller may start us with one closed (`2>&-`, a daemon that closed its standard descriptors).
/// open(2) returns the lowest free descriptor, so the configuration file, the debug log or the
/// device itself would become "standard error", and notes, progress and trace lines would be
/// written into a simulated drive's state (destroying it) or to an sg node. Each closed one is
/// filled with /dev/null: read-only for 0, and read-only for 1 and 2 as well, so that a write to
/// it fails with EBADF and is seen as failed output (exit 7 for stdout) instead of vanishing.
public enum StandardDescriptors {
    /// Fills every closed standard descriptor. False when one could not be filled (no /dev/null and
    /// no `/`): then nothing may be opened, since it could land on 0-2.
    public static func makeSafe() -> Bool {
        for raw: Int32 in 0...2 where FileDescriptor(rawValue: raw).isClosed {
            let fd = FileDescriptor(rawValue: raw)
            var filler = try? FileDescriptor.open("/dev/null", O_RDONLY | O_NOCTTY)
            if filler == nil { filler = try? FileDescriptor.open("/", O_RDONLY | O_DIRECTORY) }
            guard let filler else { return false }
            // The lower ones are open by now, so open(2) returned `fd` itself.
            if filler != fd {
                let moved = try? filler.duplicate(as: fd)
                filler.close()
                if moved != fd { return false }
            }
        }
        return true
    }
}
