public import NIOCore

/// The one deadline a client connection of an HTTP frontend waits on, as HAProxy's timeouts set it, without
/// the scheduling: which wait it is (``Purpose``), when it ends, and for the two that follow traffic (a server
/// answering, a client sending its body) when the traffic last moved. The handler keeps one scheduled task
/// and asks ``check(at:)`` when it fires: most requests only push the deadline later, which costs nothing until
/// the task fires and re-arms itself at ``Check/notYet(_:)``.
public struct ExchangeDeadline: Sendable {
    /// What the connection is waiting for.
    public enum Purpose: Sendable, Equatable {
        /// The first request's head (`timeout http-request`, else `timeout client`): 408.
        case firstRequest
        /// The next request on a kept-alive connection (`timeout http-keep-alive`): the connection closes.
        case keepAlive
        /// The server's answer, reset by every byte from the server (`timeout server`): 504.
        case server
        /// A request body arriving, reset by every byte of it (`timeout client`): 408.
        case clientBody
        /// A server slot in the backend's queue (`timeout queue`): 503.
        case queue
    }

    /// What a wake-up finds.
    public enum Check: Sendable, Equatable {
        /// Nothing is waited for.
        case none
        /// The wait goes on: wake up again at this instant.
        case notYet(NIODeadline)
        /// This wait ran out (and is cleared).
        case expired(Purpose)
    }

    /// The wait in force, if any.
    public private(set) var purpose: Purpose?
    private var fixed = NIODeadline.distantFuture
    private var lastServerActivity = NIODeadline.distantPast
    private var lastClientActivity = NIODeadline.distantPast
    private var serverLimit = TimeAmount.seconds(60)
    private var clientLimit = TimeAmount.seconds(30)

    /// Nothing to wait for.
    public init() {}

    /// When the wait in force ends (nil: none).
    public var deadline: NIODeadline? {
        switch purpose {
        case nil: nil
        case .server: lastServerActivity + serverLimit
        case .clientBody: lastClientActivity + clientLimit
        case .firstRequest, .keepAlive, .queue: fixed
        }
    }

    /// Waits for `purpose` until `deadline` (first request, keep-alive, queue).
    public mutating func wait(for purpose: Purpose, until deadline: NIODeadline) {
        self.purpose = purpose
        fixed = deadline
    }

    /// Waits for the server's answer: `limit` after its last byte (from `now`).
    public mutating func waitForServer(limit: TimeAmount, from now: NIODeadline) {
        serverLimit = limit
        lastServerActivity = now
        purpose = .server
    }

    /// Waits for the rest of a request body: `limit` after its last byte (from `now`).
    public mutating func waitForClientBody(limit: TimeAmount, from now: NIODeadline) {
        clientLimit = limit
        lastClientActivity = now
        purpose = .clientBody
    }

    /// Bytes came from the server: a wait for it starts over.
    public mutating func serverActive(at now: NIODeadline) { lastServerActivity = now }

    /// Body bytes came from the client: a wait for them starts over.
    public mutating func clientActive(at now: NIODeadline) { lastClientActivity = now }

    /// Stops waiting.
    public mutating func clear() { purpose = nil }

    /// A wake-up at `now`: the wait ran out (then it is cleared), or goes on until a later instant.
    public mutating func check(at now: NIODeadline) -> Check {
        guard let purpose, let deadline else { return .none }
        if now < deadline { return .notYet(deadline) }
        self.purpose = nil
        return .expired(purpose)
    }
}
