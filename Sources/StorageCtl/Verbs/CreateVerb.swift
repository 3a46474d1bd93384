/// `create`: makes DEVICE, a missing or empty regular file, a fresh simulated drive (`sim_type`, tape by
/// default); a simulated drive already there is left as it is (success: a script can run it every time).
/// The only way a simulated drive comes into being: every other command refuses an empty file, unwritten,
/// so a read-only command can never turn a planted file (or a kernel setting under /proc, refused anyway)
/// into a drive. The work is done by the open (`DeviceOptions.createSimulatedLU`); the verb sends nothing.
struct CreateVerb: NoArgumentVerb {
    static let name = "create"
    static let synopsis = "create"
    static let summary = "make FILE (missing or empty) a fresh simulated drive; a drive there is kept"

    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode { .ok }
}
