/// `option forwardfor [except NETWORK] [header NAME] [if-none]`.
public struct ForwardFor: Hashable, Sendable {
    /// The header to add (HAProxy's default `X-Forwarded-For`).
    public var header: String
    /// `except`: no header for clients in this network (`ADDR/PREFIX`, as written).
    public var except: String?
    /// `if-none`: add the header only when the request has none of that name.
    public var ifNone: Bool

    public init(header: String = "X-Forwarded-For", except: String? = nil, ifNone: Bool = false) {
        self.header = header
        self.except = except
        self.ifNone = ifNone
    }
}
