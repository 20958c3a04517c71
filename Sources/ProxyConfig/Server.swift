/// One `server` line.
public struct Server: Hashable, Sendable {
    public var name: String
    public var line: Int
    public var address: String
    public var port: Int
    public var check: Bool
    /// `inter`: the time between checks while the server is up (default 2 s).
    public var interval: Duration
    /// `fastinter`: between checks while an up server is failing towards `fall` (default `inter`).
    public var fastInterval: Duration?
    /// `downinter`: between checks while the server is down (default `inter`).
    public var downInterval: Duration?
    public var rise: Int
    public var fall: Int
    public var backup: Bool
    public var weight: Int
    /// `maxconn`: connections (HTTP: requests) at once; more wait in the backend's queue.
    public var maxConnections: Int?
    public var disabled: Bool
    public var cookie: String?
    /// `addr`: where checks connect, when not the server's address.
    public var checkAddress: String?
    /// `port`: where checks connect, when not the server's port.
    public var checkPort: Int?

    public init(name: String, line: Int, address: String, port: Int) {
        self.name = name
        self.line = line
        self.address = address
        self.port = port
        self.check = false
        self.interval = .seconds(2)
        self.rise = 2
        self.fall = 3
        self.backup = false
        self.weight = 1
        self.disabled = false
    }
}
