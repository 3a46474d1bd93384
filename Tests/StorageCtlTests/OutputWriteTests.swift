#if canImport(Glibc)
import Glibc
#endif
@testable import StorageCtl
import ProcessSupport
import Testing

/// `Posix.write`, the one place output leaves the process, and `FDOutput` on top of it.
@Suite("Output writes")
struct OutputWriteTests {
    @Test("a full device: the errno comes back, and FDOutput keeps the first failure and drops the rest")
    func fullDevice() {
        let fd = open("/dev/full", O_WRONLY | O_CLOEXEC)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(Posix.write(fd, "x\n") == .noSpace)
        #expect(Posix.write(fd, "") == nil, "nothing to write is no failure")
        var out = FDOutput(fd: fd)
        out.write("0xbac001\n")
        #expect(out.failure == nil, "buffered, not written yet")
        out.flush()
        #expect(out.failure == .noSpace)
        out.write(String(repeating: "y", count: 70000))
        out.flush()
        #expect(out.failure == .noSpace)
    }

    @Test("a descriptor open read-only (how a closed stdout is refilled) fails with EBADF; a closed pipe with EPIPE")
    func readOnlyAndBrokenPipe() {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(fd) }
        #expect(Posix.write(fd, "lost?\n") == .badFileDescriptor)

        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0)
        close(ends[0])
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous); close(ends[1]) }
        #expect(Posix.write(ends[1], "nobody reads\n") == .brokenPipe)
    }
}
