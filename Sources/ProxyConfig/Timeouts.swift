/// `timeout …`; nil where not set (or set to 0, which HAProxy reads as not set). Where the engine then
/// differs from HAProxy (which waits forever), the parser warns (docs/proxy-config.md).
public struct Timeouts: Hashable, Sendable {
    public var connect: Duration?
    public var client: Duration?
    public var server: Duration?
    public var check: Duration?
    public var httpRequest: Duration?
    public var httpKeepAlive: Duration?
    /// `timeout tunnel`: replaces client and server once a TCP-mode connection is set up.
    public var tunnel: Duration?
    /// `timeout queue`: how long a request waits for a server slot (default: `timeout connect`).
    public var queue: Duration?

    public init() {}
}
