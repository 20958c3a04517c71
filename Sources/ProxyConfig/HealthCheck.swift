/// `option httpchk [METHOD] [URI] [VERSION]` and `http-check send`/`http-check expect`.
public struct HealthCheck: Hashable, Sendable {
    public var method: String
    public var uri: String
    /// The request's version (`HTTP/1.0` unless written).
    public var version: String
    /// Header lines sent with the check, in order (from `http-check send hdr` or the `\r\n`-separated
    /// lines after the version in `option httpchk`).
    public var headers: [Header]
    /// `http-check expect status`: the accepted statuses; nil accepts 2xx and 3xx (HAProxy's default).
    public var expectStatus: [ClosedRange<Int>]?

    /// One header line of the check request.
    public struct Header: Hashable, Sendable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(
        method: String = "OPTIONS",
        uri: String = "/",
        version: String = "HTTP/1.0",
        headers: [Header] = [],
        expectStatus: [ClosedRange<Int>]? = nil
    ) {
        self.method = method
        self.uri = uri
        self.version = version
        self.headers = headers
        self.expectStatus = expectStatus
    }

    /// Whether a response status passes.
    public func accepts(status: Int) -> Bool {
        expectStatus.map { ranges in ranges.contains { $0.contains(status) } } ?? (200..<400).contains(status)
    }

    /// The request bytes, as HAProxy 2.6 writes them (checked against it): the request line, the headers in
    /// lower case, `content-length: 0` for a method other than GET, HEAD, OPTIONS and DELETE, and for
    /// HTTP/1.1 `connection: close`.
    public var request: String {
        var text = "\(method) \(uri) \(version)\r\n"
        for header in headers { text += "\(header.name.lowercased()): \(header.value)\r\n" }
        if !["GET", "HEAD", "OPTIONS", "DELETE"].contains(method) { text += "content-length: 0\r\n" }
        if version == "HTTP/1.1" { text += "connection: close\r\n" }
        return text + "\r\n"
    }
}
