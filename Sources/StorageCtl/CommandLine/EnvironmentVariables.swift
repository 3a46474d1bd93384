/// The environment variables storage-ctl reads, declared once: `--help` lists them, and
/// DocsInStepTests holds README.md, the man page and the names the sources read to this table.
enum EnvironmentVariables {
    static let all: [(name: String, meaning: String)] = [
        ("STORAGE_CTL_CONF", "the configuration file, when -c names none"),
        ("STORAGE_CTL_INITIATOR", "simulated drives: this host's initiator name, when neither --initiator nor initiator= names one"),
        ("STORAGE_CTL_RUN_DIR", "where lock records are kept, overriding run_dir="),
        ("XDG_RUNTIME_DIR", "not root: the lock records' default place is $XDG_RUNTIME_DIR/storage-ctl"),
    ]
}
