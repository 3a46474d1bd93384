import Testing
@testable import SgPersist

/// `main` runs the personality when argv[0]'s last non-empty `/`-separated component is `sg_persist`.
@Suite("program name")
struct ProgramNameTests {
    @Test("argv[0] names sg_persist", arguments: ["sg_persist", "/usr/bin/sg_persist", "./sg_persist", "bin//sg_persist",
                                                   "sg_persist/", "/opt/x/sg_persist//"])
    func sgPersist(_ argv0: String) {
        #expect(PersistCommand.isInvokedAsSgPersist(argv0))
    }

    @Test("argv[0] names something else", arguments: ["", "/", "storage-ctl", "/usr/bin/storage-ctl", "xsg_persist",
                                                       "/a/xsg_persist", "sg_persist2", "sg_persist/x", "sg_persis",
                                                       "a/\u{301}sg_persist", "sg_persist\u{301}", "SG_PERSIST"])
    func other(_ argv0: String) {
        #expect(!PersistCommand.isInvokedAsSgPersist(argv0))
    }

    @Test("the same answer as splitting on '/'", arguments: ["", "/", "//", "a/sg_persist", "sg_persist///", "é/sg_persist",
                                                             "/\u{301}sg_persist", "x/sg_persist/\u{301}"])
    func sameAsSplit(_ argv0: String) {
        #expect(PersistCommand.isInvokedAsSgPersist(argv0) == (argv0.split(separator: "/").last.map(String.init) == "sg_persist"))
    }
}
