/// What `failoverctl status` says is wrong with the config on disk or its sync, with the kind of problem the
/// loop clears it by (never by its words).
struct ConfigNote: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        /// The files on disk fail the engine's check; cleared when the disk holds the served version again.
        case invalidOnDisk
        /// A valid edit on a node that is not primary; cleared like ``invalidOnDisk``.
        case editedOffPrimary
        /// This node serves another version than the primary (waiting, or a sync failed); cleared when in sync.
        case differs
        /// A sync replaced a version the primary never had; cleared by the next accepted version.
        case keptRejected
    }

    var kind: Kind
    /// The line shown to the operator.
    var text: String

    /// Whether the disk's own problem (not the peer's) is what the note is about.
    var isAboutDisk: Bool { kind == .invalidOnDisk || kind == .editedOffPrimary }
}
