#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What both personalities (storage-ctl and sg_persist) do first, before anything is opened: the standard
/// descriptors made safe (`StandardDescriptors`) and SIGPIPE ignored. What follows is each personality's
/// own: storage-ctl blocks the signals that would end it (`ProcessSignals`) and exits 7 when the descriptors
/// could not be made safe; sg_persist keeps sg_persist's signal dispositions and exits with its "other" status.
public enum ProcessStart {
    /// Fills every closed standard descriptor and ignores SIGPIPE. False when a descriptor could not be
    /// filled: then nothing may be opened.
    public static func prepare() -> Bool {
        let descriptorsSafe = StandardDescriptors.makeSafe()
        ignoreBrokenPipe()
        return descriptorsSafe
    }

    /// SIGPIPE ignored: a write to a closed pipe fails with EPIPE, which the writer reports as failed
    /// output, instead of killing the process with 141.
    public static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }
}
