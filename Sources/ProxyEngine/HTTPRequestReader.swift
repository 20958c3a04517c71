public import NIOCore

/// The client side of an HTTP connection, without I/O: the client's bytes go in, requests come out one at a
/// time. It parses each head (``HTTPHeadParser``, strictly), checks the body bytes already received before a
/// server is chosen (HAProxy parses what it has buffered before it connects), then cuts the body out of what
/// follows with ``HTTPBodyFramer``; the bytes of a pipelined request wait until the exchange before it is over.
/// The frontend handler decides when to ask (its phase) and writes what it gets; the cases are tested on byte
/// strings (HTTPRequestReaderTests).
public struct HTTPRequestReader: Sendable {
    /// What asking for the next head gives.
    public enum Head: Sendable, Equatable {
        /// Not a whole head yet.
        case needMore
        /// A request is in ``request``.
        case ready
        /// Not a valid head (or beyond the limits): answer with the error's status and close.
        case invalid(HTTPHeadError)
        /// A valid head whose body, as far as it arrived with it, is malformed (the reason): 400, and no
        /// server ever sees it.
        case malformedBody(String)
    }

    /// What asking for body bytes gives.
    public enum Body: Sendable {
        /// None waiting (or the body is complete).
        case none
        /// The next body bytes, as they came (chunk framing included).
        case bytes(ByteBuffer)
        /// The body's framing is malformed (the reason).
        case invalid(String)
    }

    /// The current request's head (its field list is reused from one request to the next).
    public private(set) var request = HTTPHead()
    /// Whether ``request`` holds the current request (false while the next head is being read).
    public private(set) var valid = false
    /// Whether the current request has been read whole, body included.
    public private(set) var ended = false

    private var inbound = HTTPHead.emptyBuffer
    /// How much of a partial head has been looked at: the parser runs again only once an empty line may have
    /// arrived (a head sent a byte at a time is not parsed from the start on every read).
    private var headScanned = 0
    private var framer = HTTPBodyFramer(.none)

    /// A reader with nothing read.
    public init() {}

    /// Client bytes not handled yet: a partial head, body bytes, or the next (pipelined) requests.
    public var pendingBytes: Int { inbound.readableBytes }

    /// Takes bytes read from the client.
    public mutating func append(_ bytes: inout ByteBuffer) {
        if inbound.readableBytes == 0 {
            inbound = bytes
        } else {
            inbound.writeBuffer(&bytes)
        }
    }

    /// Reads the next request's head from what has arrived.
    public mutating func nextHead() -> Head {
        guard inbound.readableBytes > 0 else { return .needMore }
        valid = false
        if headScanned > 0 && !HTTPHeadParser.mayHoldHeadEnd(inbound, from: headScanned - 2) {
            headScanned = inbound.readableBytes
            return .needMore
        }
        let length: Int?
        do {
            length = try HTTPHeadParser.parseRequest(inbound, into: &request)
        } catch {
            return .invalid(error)
        }
        guard let length else {
            headScanned = inbound.readableBytes
            return .needMore
        }
        headScanned = 0
        inbound.moveReaderIndex(forwardBy: length)
        valid = true
        framer = HTTPBodyFramer(request.requestFraming)
        ended = framer.isComplete
        if !ended && inbound.readableBytes > 0 {
            // A copy of the framer reads what is here; the real one reads it again as it is forwarded.
            var probe = framer
            do {
                _ = try inbound.withUnsafeReadableBytes { raw in try probe.consume(raw) }
            } catch {
                return .malformedBody((error as? HTTPFramingError)?.reason ?? "invalid framing")
            }
        }
        return .ready
    }

    /// Takes the body bytes of the current request that have arrived.
    public mutating func nextBody() -> Body {
        guard !ended, inbound.readableBytes > 0 else { return .none }
        let consumed: Int
        do {
            consumed = try inbound.withUnsafeReadableBytes { raw in try framer.consume(raw) }
        } catch {
            return .invalid((error as? HTTPFramingError)?.reason ?? "invalid framing")
        }
        let body = inbound.readSlice(length: consumed)!
        if framer.isComplete { ended = true }
        return .bytes(body)
    }

    /// Lets go of the last read's memory once everything in it is handled.
    public mutating func releaseIfEmpty() {
        if inbound.readableBytes == 0 { inbound = HTTPHead.emptyBuffer }
    }

    /// Forgets everything (the connection is gone).
    public mutating func reset() {
        request = HTTPHead()
        inbound = HTTPHead.emptyBuffer
        valid = false
        ended = false
        headScanned = 0
    }
}
