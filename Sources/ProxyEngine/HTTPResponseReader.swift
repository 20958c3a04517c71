public import NIOCore

/// The server side of one exchange, without I/O: the server's bytes go in, what to do with them comes out
/// (RFC 9112 §6.3). It parses the response head (dropping interim 1xx responses), chooses the body's framing
/// for the request it answers, and cuts the body out of what follows, taking the chunking off for an HTTP/1.0
/// client. The frontend handler only writes what it is told; the failure cases are tested on byte strings
/// (HTTPResponseReaderTests).
public struct HTTPResponseReader: Sendable {
    /// What the server's bytes mean, in order.
    public enum Event {
        /// The final response head, the framing of its body and whether the chunking comes off (the client's
        /// head can be written now).
        case head(HTTPHead, HTTPHead.Framing, dechunk: Bool)
        /// Body bytes for the client (without chunk framing when ``dechunk``).
        case body(ByteBuffer)
        /// The response is complete. `trailing`: the server sent bytes after it (its connection cannot carry
        /// another request).
        case end(trailing: Bool)
        /// Not a valid response: the reason, for the log (the client gets a 502 if nothing was sent yet).
        case invalid(String)
    }

    /// The final response's head, once ``Event/head`` was given (its field list is reused between exchanges).
    private var response = HTTPHead()
    /// The framing of the response body, once the head is in.
    public private(set) var framing = HTTPHead.Framing.none
    /// Whether the chunking is taken off (a chunked body for an HTTP/1.0 client).
    public private(set) var dechunk = false
    /// Whether the final head has been read.
    public private(set) var started = false
    /// Whether the whole response has been read.
    public private(set) var complete = false

    private var requestIsHEAD = false
    private var clientMinorVersion = 1
    private var pending = HTTPHead.emptyBuffer
    private var framer = HTTPBodyFramer(.none)

    /// A reader with nothing read yet (``start(requestIsHEAD:clientMinorVersion:)`` before each exchange).
    public init() {}

    /// Starts reading the response to a request (`requestIsHEAD`), for a client speaking HTTP/1.`clientMinorVersion`.
    public mutating func start(requestIsHEAD: Bool, clientMinorVersion: Int) {
        self.requestIsHEAD = requestIsHEAD
        self.clientMinorVersion = clientMinorVersion
        pending = HTTPHead.emptyBuffer
        framing = .none
        dechunk = false
        started = false
        complete = false
    }

    /// Whether the response so far ends when the server closes its connection (a body without a length).
    public var endsWithConnection: Bool { started && framer.endsWithConnection }

    /// Whether bytes of a response are waiting for more (a partial head).
    public var hasPendingBytes: Bool { pending.readableBytes > 0 }

    /// Forgets the bytes it holds (the exchange is over).
    public mutating func reset() { pending = HTTPHead.emptyBuffer }

    /// Reads `bytes` from the server and calls `emit` with each event, in order. Reading stops at `.end` or
    /// `.invalid`.
    public mutating func read(_ bytes: ByteBuffer, _ emit: (Event) -> Void) {
        guard !complete else {
            if bytes.readableBytes > 0 { emit(.end(trailing: true)) }
            return
        }
        if pending.readableBytes == 0 {
            pending = bytes
        } else {
            var bytes = bytes
            pending.writeBuffer(&bytes)
        }
        while pending.readableBytes > 0 {
            if !started {
                let length: Int?
                do {
                    length = try HTTPHeadParser.parseResponse(pending, into: &response)
                } catch {
                    emit(.invalid(error.detail))
                    return
                }
                guard let length else { return }
                pending.moveReaderIndex(forwardBy: length)
                if response.status < 200 {
                    // Interim responses are not forwarded (the engine sends its own 100 Continue); a switch of
                    // protocols was never asked for (Upgrade is not forwarded).
                    if response.status == 101 {
                        emit(.invalid("switched protocols without being asked"))
                        return
                    }
                    continue
                }
                started = true
                framing = response.responseFraming(requestIsHEAD: requestIsHEAD)
                dechunk = framing == .chunked && clientMinorVersion == 0
                framer = HTTPBodyFramer(framing)
                emit(.head(response, framing, dechunk: dechunk))
                if framer.isComplete { break }
                continue
            }
            let consumed: Int
            do {
                let dechunk = self.dechunk
                let snapshot = pending
                consumed = try snapshot.withUnsafeReadableBytes { raw in
                    if dechunk {
                        return try framer.consume(raw) { data in
                            emit(
                                .body(
                                    snapshot.getSlice(at: snapshot.readerIndex + data.lowerBound, length: data.count)!
                                )
                            )
                        }
                    }
                    return try framer.consume(raw)
                }
            } catch {
                emit(.invalid((error as? HTTPFramingError)?.reason ?? "invalid body framing"))
                return
            }
            let body = pending.readSlice(length: consumed)!
            if !dechunk && body.readableBytes > 0 { emit(.body(body)) }
            if framer.isComplete { break }
        }
        if started && framer.isComplete {
            complete = true
            let trailing = pending.readableBytes > 0
            pending = HTTPHead.emptyBuffer
            emit(.end(trailing: trailing))
        } else if pending.readableBytes == 0 {
            // Lets go of the read's memory once everything in it is handled.
            pending = HTTPHead.emptyBuffer
        }
    }
}
