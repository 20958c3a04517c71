/// `acl NAME CRITERION [FLAGS] VALUE…`.
public struct ACL: Hashable, Sendable {
    /// What the ACL looks at.
    public enum Criterion: String, Hashable, Sendable {
        case pathBegins = "path_beg"
        case path
        case host = "hdr(host)"
        case source = "src"

        /// The match method HAProxy uses for this criterion when no `-m` is given.
        public var defaultMatch: MatchMethod {
            switch self {
            case .pathBegins: .beginning
            case .path, .host: .exact
            case .source: .ip
            }
        }
    }

    /// `-m METHOD`: how a sample is compared with the values.
    public enum MatchMethod: String, Hashable, Sendable, CaseIterable {
        /// `str`: equal.
        case exact = "str"
        /// `beg`: the sample begins with a value.
        case beginning = "beg"
        /// `end`: the sample ends with a value.
        case end
        /// `sub`: the sample contains a value.
        case substring = "sub"
        /// `dir`: a value is one of the `/`-delimited parts of the sample (or a run of them).
        case directory = "dir"
        /// `dom`: a value is one of the `.`-delimited parts of the sample (or a run of them).
        case domain = "dom"
        /// `len`: the sample's length is one of the values.
        case length = "len"
        /// `found`: the sample exists (no values).
        case found
        /// `ip`: the sample is an address within one of the networks (`src`'s only method).
        case ip
    }

    public var name: String
    public var criterion: Criterion
    public var match: MatchMethod
    /// The patterns: those written on the line, then those read from `-f` files, in order.
    public var values: [String]
    /// `-i`: compare without regard to case.
    public var ignoreCase: Bool

    public init(
        name: String,
        criterion: Criterion,
        values: [String],
        ignoreCase: Bool = false,
        match: MatchMethod? = nil
    ) {
        self.name = name
        self.criterion = criterion
        self.values = values
        self.ignoreCase = ignoreCase
        self.match = match ?? criterion.defaultMatch
    }
}
