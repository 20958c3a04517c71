/// Why ``DatagramOpener`` refused a datagram.
public enum DatagramRejection: Error, Hashable, Sendable, CustomStringConvertible {
    /// It did not decode or authenticate.
    case wire(WireError)
    /// It authenticated, but was seen before or comes from an older boot of the sender.
    case replay(ReplayWindow.Verdict)
    /// It carries this node's own name: a reflected datagram, or a second node configured with the same name.
    case fromSelf

    /// A short snake_case name for metrics and logs.
    public var label: String {
        switch self {
        case .wire(let error): error.label
        case .replay(.staleBoot): "replay_stale_boot"
        case .replay(.duplicate): "replay_duplicate"
        case .replay(.tooOld): "replay_too_old"
        case .replay(.fresh): "replay"
        case .fromSelf: "from_self"
        }
    }

    public var description: String {
        switch self {
        case .wire(let error): error.description
        case .replay(.staleBoot): "replayed: from an older boot of the sender"
        case .replay(.duplicate): "replayed: sequence number already seen"
        case .replay(.tooOld): "replayed: sequence number too far behind"
        case .replay(.fresh): "replayed"
        case .fromSelf: "carries this node's own name: a reflected datagram, or two nodes share one node.name"
        }
    }
}
