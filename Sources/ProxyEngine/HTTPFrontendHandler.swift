import Logging
import NIOCore
import NIOPosix
import ProxyConfig
import Synchronization

/// One client connection of an HTTP frontend. It reads bytes and parses each request head itself
/// (``HTTPHeadParser``); for each request it routes (ACLs, sticky cookie, balance), borrows a keep-alive
/// connection to the chosen server or opens one (retrying the next server on failure), writes the request
/// head rewritten (``HTTPMessageRules``) and streams the body up and the response down as the bytes come,
/// with backpressure both ways and the body's end found by ``HTTPBodyFramer``. It answers 400/502/503/504
/// itself when a request is refused or no server can answer. Requests are handled one at a time: the bytes
/// of a pipelined request wait (and reading pauses) until the exchange before it is over. Everything runs
/// on the client's event loop; server connections are opened on it too.
final class HTTPFrontendHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        /// Between requests.
        case idle
        /// Routed; waiting for a connection to the server (the body waits in the reader).
        case connecting
        /// Request and response flowing between client and server.
        case forwarding
        /// The engine answered itself (stats); the request's body is still to come.
        case local
        /// The connection is closing; everything else is dropped.
        case closing
    }

    private let site: HTTPSite
    private let remoteAddress: SocketAddress?
    /// The client's address as text (X-Forwarded-For, `balance source`) and as bytes (`src` ACLs), made on
    /// first use: most connections need neither.
    private lazy var clientAddress: String? = remoteAddress?.ipAddress
    private lazy var sourceBytes: [UInt8]? = RequestRouter.rawBytes(remoteAddress)
    /// This loop's idle server connections (looked up once per connection).
    private var idleConnections: UpstreamConnections.Idle?
    private var context: ChannelHandlerContext!
    private var phase = Phase.idle
    private var servedRequests = 0
    private var pendingRead = false
    /// Between a client read and its read-complete: writes to the server wait for the flush there.
    private var inClientRead = false
    /// Inside `processInbound` (a server attached from there leaves the body to its loop).
    private var processing = false
    /// Reads the client's bytes: heads, bodies, pipelined requests (``HTTPRequestReader``).
    private var reader = HTTPRequestReader()
    /// Closing after an early response: the client's unread body is read and dropped for a while first, so
    /// the kernel does not reset the connection before the client has read the response.
    private var lingering = false
    /// The client shut its sending side after a complete request: the complete requests it sent are served,
    /// then the connection ends.
    private var inputClosed = false

    // The current exchange.
    private var exchangeID = 0
    /// Whether the reader holds the current request (false while a head is being parsed).
    private var requestValid: Bool { reader.valid }
    /// The head sent to the server (kept to send it again on a fresh connection).
    private var upstreamHead = HTTPHead.emptyBuffer
    private var pool: BackendPool?
    private var server: Int?
    private var tried: Set<Int> = []
    /// Connection retries made for this exchange (`retries`).
    private var retryCount = 0
    /// Waiting in the backend's queue for a server slot (phase `connecting`, no server yet).
    private var queueTicket: UInt64?
    private var upstream: UpstreamHandler?
    private var reusedConnection = false
    private var retriedFresh = false
    private var continueSent = false
    /// Whether the current request was read whole, body included.
    private var requestEnded: Bool { reader.ended }
    private var responseStarted = false
    private var keepAlive = true
    /// `option http-server-close` / `httpclose` of this exchange's frontend and backend (the stricter).
    private var connectionMode = ConnectionMode.keepAlive
    private var setCookie: String?
    /// The last error the server connection reported (for the log and the error page).
    var upstreamError: (any Error)?

    // The response.
    /// Reads the server's bytes: the response head, its framing, the body (``HTTPResponseReader``).
    private var responseReader = HTTPResponseReader()
    /// The client's response head, written with the first body bytes when they are small.
    private var pendingOut: ByteBuffer?

    init(site: HTTPSite, clientAddress: SocketAddress?) {
        self.site = site
        self.remoteAddress = clientAddress
    }

    /// Whether the client can take more response bytes now.
    var clientWritable: Bool { context?.channel.isWritable ?? false }

    // MARK: - Client side

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        idleConnections = site.connections.idle(context.eventLoop)
    }

    /// The context holds this handler and this handler the context: the cycle (and the last heads, which
    /// hold read buffers) must be broken here, or every closed connection leaks a few KiB.
    func handlerRemoved(context: ChannelHandlerContext) {
        phase = .closing
        self.context = nil
        idleConnections = nil
        reader.reset()
        responseReader = HTTPResponseReader()
        upstreamHead = Self.empty
        pendingOut = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        site.counters.opened()
        armClientTimer(site.requestTimeout, firstRequest: true)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        site.counters.closed()
        phase = .closing
        deadline.clear()
        timerTask?.cancel()
        timerTask = nil
        if let upstream {
            // The client left mid-exchange: the server connection cannot be reused.
            self.upstream = nil
            upstream.exchange = nil
            upstream.close()
        }
        releaseServer()
        if let ticket = queueTicket, let pool {
            // When the slot was already handed out, `dequeued` gives it back on arrival.
            _ = pool.cancel(ticket: ticket)
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        site.counters.bytesIn.add(buffer.readableBytes, ordering: .relaxed)
        if case .closing = phase { return }
        inClientRead = true
        reader.append(&buffer)
        processInbound()
    }

    private var isIdle: Bool {
        if case .idle = phase { return true }
        return false
    }

    private var isClosing: Bool {
        if case .closing = phase { return true }
        return false
    }

    /// Handles what the reader holds as far as the phase allows: starts on a head, forwards body bytes.
    private func processInbound() {
        guard !processing else { return }
        processing = true
        defer { processing = false }
        while true {
            switch phase {
            case .closing:
                return
            case .idle:
                switch reader.nextHead() {
                case .needMore:
                    return
                case .invalid(let error):
                    // A malformed request (or one beyond the limits): answered and the connection closed.
                    site.counters.failed()
                    respondLocally(error.status, detail: error.detail)
                    return
                case .malformedBody(let reason):
                    begin(malformedBody: reason)
                case .ready:
                    begin()
                }
            case .connecting:
                return
            case .forwarding, .local:
                guard !requestEnded, reader.pendingBytes > 0 else { return }
                forwardRequestBody()
            }
        }
    }

    /// Passes the body bytes the reader holds to the server (or drops them for a local answer).
    private func forwardRequestBody() {
        let body: ByteBuffer
        switch reader.nextBody() {
        case .none:
            return
        case .bytes(let bytes):
            body = bytes
        case .invalid(let reason):
            site.counters.failed()
            let detail = "The request body is malformed: \(reason)."
            if case .forwarding = phase, let upstream {
                self.upstream = nil
                upstream.exchange = nil
                upstream.close()
                releaseServer()
            }
            if case .local = phase {
                // The stats page is already on its way: the connection just ends.
                phase = .closing
                context.close(promise: nil)
            } else if responseStarted {
                phase = .closing
                context.close(promise: nil)
            } else {
                respondLocally(400, detail: detail)
            }
            return
        }
        deadline.clientActive(at: .now())
        if case .forwarding = phase, body.readableBytes > 0 {
            upstream?.send(body)
            if !inClientRead { upstream?.flush() }
        }
        if requestEnded { requestBodyEnded() }
    }

    /// The request is complete (its body too).
    private func requestBodyEnded() {
        switch phase {
        case .forwarding:
            armServerTimer()
        case .local:
            phase = .idle
            armClientTimer(site.keepAliveTimeout, firstRequest: false)
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inClientRead = false
        if case .forwarding = phase { upstream?.flush() }
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { upstream?.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        phase = .closing
        context.close(promise: nil)
    }

    /// The client shut its sending side: between requests that ends the connection; after a complete request
    /// the response is still sent, and so are those of complete requests pipelined behind it, then the
    /// connection closes; in the middle of a request the request is lost.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, case .inputClosed = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch phase {
        case .idle, .local:
            phase = .closing
            context.close(promise: nil)
        case .connecting, .forwarding:
            if requestEnded {
                inputClosed = true
            } else {
                phase = .closing
                context.close(promise: nil)
            }
        case .closing:
            if lingering { context.close(promise: nil) }
        }
    }

    /// Reading waits while a server is being connected, while the server cannot take more, and while the
    /// bytes of pipelined requests pile up behind the current exchange. It goes on otherwise, between a
    /// request's end and its response too: pausing costs two epoll_ctl calls.
    private var holdsReads: Bool {
        switch phase {
        case .idle, .closing: return false
        case .connecting: return true
        case .local: return requestEnded && reader.pendingBytes > HTTPHeadParser.maxHeadSize
        case .forwarding:
            return (requestEnded && reader.pendingBytes > HTTPHeadParser.maxHeadSize)
                || !(upstream?.isWritable ?? true)
        }
    }

    func read(context: ChannelHandlerContext) {
        if holdsReads {
            pendingRead = true
        } else {
            context.read()
        }
    }

    private func readIfPending() {
        if pendingRead && !holdsReads {
            pendingRead = false
            context.read()
        }
    }

    // MARK: - Starting an exchange

    /// Starts the exchange of the request the reader holds (`malformedBody`: its body, as far as it came with
    /// the head, is malformed: 400 before any server is chosen).
    private func begin(malformedBody: String? = nil) {
        clearTimer()
        exchangeID += 1
        site.counters.requests.add(1, ordering: .relaxed)
        responseStarted = false
        reusedConnection = false
        retriedFresh = false
        continueSent = false
        tried = []
        retryCount = 0
        queueTicket = nil
        setCookie = nil
        upstreamError = nil
        keepAlive = reader.request.keepsAlive
        if let malformedBody {
            // The body bytes that came with the head are malformed (framing or trailers): no server sees this
            // request; HAProxy parses what it has buffered before it connects and answers 400 the same way.
            site.counters.failed()
            respondLocally(400, detail: "The request body is malformed: \(malformedBody).")
            return
        }

        // As HAProxy: the stats page takes GET, HEAD and POST at its URI (also in an absolute-form target);
        // other methods go to the backend like any request.
        if let stats = site.stats, let target = statsTarget(stats) {
            serveStats(stats, target: target)
            return
        }
        var facts = RequestFacts()
        if site.router.readsSource { facts.source = sourceBytes }
        if site.router.readsRequest {
            // An absolute-form target names the host itself, and the server follows it (RFC 9112 §3.2.2).
            let absolute = reader.request.absoluteForm
            let target = absolute?.path ?? reader.request.string(reader.request.target)
            facts.path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            facts.host = absolute?.authority ?? reader.request.host.map(reader.request.string)
        }
        guard let backendName = site.router.backend(for: facts), let pool = site.pools[backendName] else {
            site.counters.failed()
            respondLocally(503, detail: "No backend matches this request.", keepOpen: true)
            return
        }
        self.pool = pool
        connectionMode = max(site.frontend.connectionMode, pool.backend.connectionMode)
        if connectionMode == .close { keepAlive = false }
        var preferred: Int?
        if let cookie = pool.backend.cookie {
            preferred = HTTPMessageRules.cookie(cookie.name, in: reader.request).flatMap(pool.server(cookie:))
        }
        let loop = context.eventLoop
        let id = exchangeID
        switch pool.acquire(
            client: clientAddress,
            preferred: preferred,
            delivery: {
                let bound = NIOLoopBound(self, eventLoop: loop)
                return { index in loop.execute { bound.value.dequeued(index, exchange: id) } }
            }
        ) {
        case .server(let index):
            server = index
            prepareUpstreamHead(pool, index)
            phase = .connecting
            connect(index, preferIdle: true)
        case .queued(let ticket):
            // Every server that could serve is at its maxconn: wait in the queue, as HAProxy does.
            queueTicket = ticket
            phase = .connecting
            let timeout =
                pool.backend.timeouts.queue ?? pool.backend.timeouts.connect ?? site.frontend.timeouts.connect
                ?? .seconds(5)
            deadline.wait(for: .queue, until: .now() + TimeAmount.of(timeout))
            scheduleIfEarlier()
        case .unavailable:
            site.counters.failed()
            respondLocally(503, detail: "No server is available to handle this request.", keepOpen: true)
        }
    }

    /// A server slot for the queued exchange `exchange` (from whichever loop freed it). A slot that comes
    /// after the exchange ended is given back.
    private func dequeued(_ index: Int, exchange: Int) {
        guard exchange == exchangeID, queueTicket != nil, case .connecting = phase, let pool else {
            pool?.release(index)
            return
        }
        queueTicket = nil
        clearTimer()
        server = index
        prepareUpstreamHead(pool, index)
        connect(index, preferIdle: true)
    }

    /// The queue wait ran out: 503, as HAProxy answers after `timeout queue`.
    private func queueTimedOut() {
        guard let ticket = queueTicket, let pool else { return }
        // False: the slot is on its way (dequeued will use it).
        guard pool.cancel(ticket: ticket) else { return }
        queueTicket = nil
        site.counters.failed()
        respondLocally(503, detail: "No server is available to handle this request.", keepOpen: true)
    }

    /// Writes the head to send to server `index` of `pool`.
    private func prepareUpstreamHead(_ pool: BackendPool, _ index: Int) {
        upstreamHead = context.channel.allocator.buffer(capacity: reader.request.bytes.readableBytes + 64)
        HTTPMessageRules.writeUpstreamRequest(
            reader.request,
            into: &upstreamHead,
            clientAddress: clientAddress,
            // No lookup (no hashing of the backend's name) when no section forwards the client's address.
            forwardFor: site.forwarding.isEmpty
                ? nil
                : site.forwarding[pool.backend.name].flatMap {
                    $0.applies(to: reader.request, source: sourceBytes) ? $0.name : nil
                },
            removeCookie: pool.backend.cookie.flatMap { $0.indirect ? $0.name : nil },
            closeConnection: connectionMode != .keepAlive
        )
    }

    /// The sticky cookie to set when the chosen server is not the one the client presented.
    private func stickyCookie(for index: Int) -> String? {
        guard let pool, let cookie = pool.backend.cookie, cookie.insert,
            let value = pool.backend.servers[index].cookie,
            HTTPMessageRules.cookie(cookie.name, in: reader.request) != value
        else { return nil }
        return "\(cookie.name)=\(value); path=/"
    }

    private func connect(_ index: Int, preferIdle: Bool) {
        guard let pool else { return }
        let key = UpstreamKey(pool: ObjectIdentifier(pool), server: index)
        let loop = context.eventLoop
        if preferIdle, let idleConnections, let idle = site.connections.take(key, from: idleConnections) {
            attach(idle, reused: true)
            return
        }
        let server = pool.backend.servers[index]
        let counters = pool.traffic[index]
        let timeout = TimeAmount.of(pool.backend.timeouts.connect ?? site.frontend.timeouts.connect ?? .seconds(5))
        let id = exchangeID
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler(key: key, counters: counters))
                }
            }
            .connect(host: server.address, port: server.port)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard self.exchangeID == id, case .connecting = self.phase,
                        let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
                    else {
                        channel.close(promise: nil)
                        return
                    }
                    self.attach(handler, reused: false)
                case .failure(let error):
                    guard self.exchangeID == id, case .connecting = self.phase else { return }
                    self.connectFailed(index, error)
                }
            }
    }

    private func connectFailed(_ index: Int, _ error: any Error) {
        guard let pool else { return }
        pool.traffic[index].failed()
        releaseServer()
        tried.insert(index)
        site.logger.info(
            "connect to server failed; trying the next",
            metadata: [
                "backend": "\(pool.backend.name)", "server": "\(pool.backend.servers[index].name)",
                "error": "\(error)",
            ]
        )
        retryCount += 1
        if let next = pool.retryTarget(after: index, attempt: retryCount, tried: tried, client: clientAddress) {
            server = next
            // HAProxy waits min(timeout connect, 1 s) before a retry (a restarting server gets a moment).
            let connectTimeout = pool.backend.timeouts.connect ?? site.frontend.timeouts.connect ?? .seconds(5)
            let id = exchangeID
            context.eventLoop.assumeIsolated().scheduleTask(
                in: TimeAmount.of(BackendPool.retryDelay(connectTimeout: connectTimeout))
            ) {
                guard self.exchangeID == id, case .connecting = self.phase else {
                    pool.release(next)
                    return
                }
                self.connect(next, preferIdle: true)
            }
        } else {
            site.counters.failed()
            respondLocally(503, detail: "No server could be reached to handle this request.", keepOpen: true)
        }
    }

    private func attach(_ handler: UpstreamHandler, reused: Bool) {
        guard let server else { return }
        upstream = handler
        handler.exchange = self
        reusedConnection = reused
        phase = .forwarding
        setCookie = stickyCookie(for: server)
        responseReader.start(requestIsHEAD: reader.request.isHEAD, clientMinorVersion: reader.request.minorVersion)
        pendingOut = nil
        if !requestEnded && !continueSent && reader.request.expectsContinue {
            // The Expect header is not forwarded; the client learns here that it may send the body.
            continueSent = true
            var interim = context.channel.allocator.buffer(capacity: 32)
            interim.writeStaticString(reader.request.minorVersion == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
            interim.writeStaticString("100 Continue\r\n\r\n")
            writeToClient(interim)
            context.flush()
        }
        handler.send(upstreamHead)
        // The body bytes already read go now (from the loop of processInbound when attached from there).
        processInbound()
        // Inside a client read, channelReadComplete flushes once for everything that read brought.
        if !inClientRead { handler.flush() }
        deadline.serverActive(at: .now())
        if requestEnded {
            armServerTimer()
        } else {
            armClientBodyTimer()
        }
        if handler.isWritable { readIfPending() }
    }

    // MARK: - Server side (called by UpstreamHandler)

    func upstream(_ handler: UpstreamHandler, received bytes: ByteBuffer) {
        guard handler === upstream else { return }
        deadline.serverActive(at: .now())
        var ended = false
        var invalid: String?
        responseReader.read(bytes) { event in
            switch event {
            case .head(let head, let framing, let dechunk):
                startResponse(handler, head, framing: framing, dechunk: dechunk)
            case .body(let body):
                writeBody(body)
            case .end(let trailing):
                // Bytes after the response: a server that talks out of turn cannot carry another request.
                if trailing { handler.reusable = false }
                ended = true
            case .invalid(let reason):
                invalid = reason
            }
        }
        if let invalid {
            invalidResponse(handler, invalid)
            return
        }
        if ended {
            finishExchange(handler)
            return
        }
        if let head = pendingOut {
            pendingOut = nil
            writeToClient(head)
        }
        releaseInbound()
    }

    /// The final response head arrived: writes the client's head (sent with the first body bytes).
    private func startResponse(
        _ handler: UpstreamHandler,
        _ response: HTTPHead,
        framing: HTTPHead.Framing,
        dechunk: Bool
    ) {
        responseStarted = true
        // An answer before the whole request arrived (a 413, a 401) ends the connection: the rest of the
        // body cannot be told apart from a next request.
        if site.draining.isSet || !requestEnded { keepAlive = false }
        if !HTTPMessageRules.serverKeepsAlive(response, framing: framing) { handler.reusable = false }
        // Without a length the client's response ends by closing: a body ending with the server's
        // connection, or a chunked one for an HTTP/1.0 client.
        if framing == .untilClose || dechunk { keepAlive = false }
        var head = context.channel.allocator.buffer(capacity: response.bytes.readableBytes + 128)
        HTTPMessageRules.writeClientResponse(
            response,
            into: &head,
            clientMinorVersion: reader.request.minorVersion,
            keepAlive: keepAlive,
            dechunk: dechunk,
            setCookie: setCookie,
            nocache: pool?.backend.cookie?.nocache ?? false
        )
        pendingOut = head
    }

    /// Writes response body bytes, in one buffer with the head when they are few.
    private func writeBody(_ body: ByteBuffer) {
        guard body.readableBytes > 0 else { return }
        if var head = pendingOut {
            pendingOut = nil
            if body.readableBytes <= 4096 {
                var body = body
                head.writeBuffer(&body)
                writeToClient(head)
                return
            }
            writeToClient(head)
        }
        writeToClient(body)
    }

    private func writeToClient(_ bytes: ByteBuffer) {
        site.counters.bytesOut.add(bytes.readableBytes, ordering: .relaxed)
        context.write(wrapOutboundOut(bytes), promise: nil)
    }

    func upstreamReadComplete() { context.flush() }

    func upstreamBecameWritable() { readIfPending() }

    private func finishExchange(_ handler: UpstreamHandler) {
        clearTimer()
        upstream = nil
        handler.exchange = nil
        releaseServer()
        if let head = pendingOut {
            pendingOut = nil
            writeToClient(head)
        }
        responseReader.reset()
        if requestEnded && handler.reusable && handler.isActive && connectionMode == .keepAlive {
            site.connections.park(handler, in: idleConnections, on: context.eventLoop)
        } else {
            handler.close()
        }
        // A request whose body is still coming cannot be followed by another on this connection.
        let keep = keepAlive && requestEnded
        servedRequests += 1
        if keep {
            awaitNextRequest()
        } else if !requestEnded {
            lingeringClose()
        } else {
            closeAfterWrites()
        }
    }

    /// The exchange is over and the client keeps the connection: wait for (or start on) its next request.
    private func awaitNextRequest() {
        phase = .idle
        context.flush()
        armClientTimer(site.keepAliveTimeout, firstRequest: false)
        processInbound()
        releaseInbound()
        if inputClosed {
            // Nothing more will come: close unless a complete pipelined request is now on its way.
            var serving = false
            switch phase {
            case .connecting, .forwarding: serving = requestEnded
            case .idle, .local, .closing: serving = false
            }
            if !serving, !isClosing { closeAfterWrites() }
        } else {
            readIfPending()
        }
    }

    /// The server's response was not valid HTTP: the client gets a 502, or is cut if its response started.
    private func invalidResponse(_ handler: UpstreamHandler, _ reason: String) {
        upstream = nil
        handler.exchange = nil
        handler.close()
        clearTimer()
        pendingOut = nil
        guard let pool, let server else { return }
        pool.traffic[server].failed()
        site.logger.info(
            "server sent an invalid response",
            metadata: [
                "backend": "\(pool.backend.name)", "server": "\(pool.backend.servers[server].name)",
                "reason": "\(reason)",
            ]
        )
        releaseServer()
        if responseStarted {
            phase = .closing
            context.flush()
            context.close(promise: nil)
        } else {
            site.counters.failed()
            respondLocally(502, detail: "The server sent an invalid response.")
        }
    }

    func upstreamClosed(_ handler: UpstreamHandler) {
        guard handler === upstream else { return }
        if responseStarted && responseReader.endsWithConnection {
            // The end of a body delimited by the server closing.
            finishExchange(handler)
            return
        }
        upstream = nil
        clearTimer()
        guard let pool, let server else { return }
        if responseStarted {
            // Cut mid-response: the client cannot be told otherwise.
            pool.traffic[server].failed()
            releaseServer()
            phase = .closing
            if let head = pendingOut {
                pendingOut = nil
                writeToClient(head)
            }
            context.flush()
            context.close(promise: nil)
            return
        }
        if reusedConnection && !retriedFresh && reader.request.requestFraming == .none && requestEnded
            && reader.request.isIdempotent && !responseReader.hasPendingBytes
        {
            // A kept-alive connection the server closed just as it was reused: send again on a new one.
            retriedFresh = true
            phase = .connecting
            connect(server, preferIdle: false)
            return
        }
        pool.traffic[server].failed()
        releaseServer()
        site.counters.failed()
        site.logger.info(
            "server closed the connection before answering",
            metadata: [
                "backend": "\(pool.backend.name)", "server": "\(pool.backend.servers[server].name)",
                "error": "\(upstreamError.map { "\($0)" } ?? "none")",
            ]
        )
        respondLocally(502, detail: "The server closed the connection without sending a response.")
    }

    private static var empty: ByteBuffer { HTTPHead.emptyBuffer }

    /// Lets go of the last read's memory once everything in it is handled.
    private func releaseInbound() {
        reader.releaseIfEmpty()
    }

    // MARK: - Timers

    // One scheduled task per connection, moved only when a deadline comes earlier than it: most requests
    // just push the deadline later, which costs nothing until the task fires and re-arms itself.
    private var deadline = ExchangeDeadline()
    private var timerTask: Scheduled<Void>?
    private var timerTaskAt = NIODeadline.distantFuture

    private func clearTimer() { deadline.clear() }

    /// Moves the scheduled wake-up earlier when the deadline in force comes before it.
    private func scheduleIfEarlier() {
        guard let at = deadline.deadline else { return }
        if timerTask == nil || at < timerTaskAt { scheduleTimer(at: at) }
    }

    private func scheduleTimer(at deadline: NIODeadline) {
        timerTask?.cancel()
        timerTaskAt = deadline
        timerTask = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.timerFired() }
    }

    private func timerFired() {
        timerTask = nil
        timerTaskAt = .distantFuture
        switch deadline.check(at: .now()) {
        case .none:
            return
        case .notYet(let later):
            scheduleTimer(at: later)
        case .expired(.firstRequest):
            guard isIdle else { return }
            respondLocally(408, detail: "The request did not arrive in time.")
        case .expired(.keepAlive):
            guard isIdle else { return }
            phase = .closing
            context.close(promise: nil)
        case .expired(.server):
            guard case .forwarding = phase else { return }
            serverTimedOut()
        case .expired(.clientBody):
            guard !requestEnded else { return }
            clientBodyTimedOut()
        case .expired(.queue):
            guard case .connecting = phase else { return }
            queueTimedOut()
        }
    }

    private func armClientBodyTimer() {
        deadline.waitForClientBody(limit: TimeAmount.of(site.frontend.timeouts.client ?? .seconds(30)), from: .now())
        scheduleIfEarlier()
    }

    private func clientBodyTimedOut() {
        if let upstream {
            self.upstream = nil
            upstream.exchange = nil
            upstream.close()
        }
        if let pool, let server { pool.traffic[server].failed() }
        releaseServer()
        site.counters.failed()
        if responseStarted {
            phase = .closing
            context.close(promise: nil)
        } else {
            respondLocally(408, detail: "The request body did not arrive in time.")
        }
    }

    private func armClientTimer(_ timeout: TimeAmount, firstRequest: Bool) {
        // A draining engine does not keep idle clients long.
        let timeout = site.draining.isSet ? min(timeout, .seconds(1)) : timeout
        deadline.wait(for: firstRequest ? .firstRequest : .keepAlive, until: .now() + timeout)
        scheduleIfEarlier()
    }

    /// Waits for the server's answer, `timeout server` from now and from each of its bytes.
    private func armServerTimer() {
        guard let pool else { return }
        deadline.waitForServer(limit: TimeAmount.of(pool.backend.timeouts.server ?? .seconds(60)), from: .now())
        scheduleIfEarlier()
    }

    private func serverTimedOut() {
        guard let pool, let server else { return }
        pool.traffic[server].failed()
        let handler = upstream
        upstream = nil
        handler?.exchange = nil
        handler?.close()
        releaseServer()
        if responseStarted {
            phase = .closing
            context.close(promise: nil)
        } else {
            site.counters.failed()
            respondLocally(504, detail: "The server did not answer in time.", keepOpen: true)
        }
    }

    // MARK: - Answers from the engine itself

    private func releaseServer() {
        if let pool, let server {
            pool.release(server)
            self.server = nil
        }
    }

    /// Writes everything and closes the connection once it is written.
    private func closeAfterWrites() {
        phase = .closing
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(Self.empty)).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Writes everything, shuts the sending side, then reads and drops what the client still sends for up to
    /// 2 s (or until it closes) before closing: closing with unread bytes would make the kernel send a reset
    /// that can destroy the response before the client reads it (RFC 9112 §9.6).
    private func lingeringClose() {
        phase = .closing
        lingering = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(Self.empty)).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
        }
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }

    private static let authorizationName = Array("authorization".utf8)

    /// Writes an error page and closes the connection.
    /// `keepOpen`: a 503 or 504 leaves a keep-alive client's connection open for its next request, as HAProxy
    /// does (it closes after 400, 401, 408 and 502).
    private func respondLocally(
        _ status: Int,
        detail: String,
        extraHeader: String = "",
        keepOpen: Bool = false,
        announceClose: Bool = true
    ) {
        let stays = keepOpen && requestValid && keepAlive && !site.draining.isSet
        let page = HTTPErrorPage.response(
            status: status,
            reason: HTTPErrorPage.reason(status),
            detail: detail,
            extraHeader: extraHeader,
            closing: !stays,
            announceClose: announceClose,
            minorVersion: requestValid ? reader.request.minorVersion : 1,
            withBody: !(requestValid && reader.request.isHEAD),
            allocator: context.channel.allocator
        )
        writeToClient(page)
        if stays && requestEnded {
            servedRequests += 1
            awaitNextRequest()
        } else if stays {
            // The body is still coming: it is read and dropped, then the connection waits for the next request.
            servedRequests += 1
            context.flush()
            phase = .local
            armClientBodyTimer()
        } else if (requestValid && !requestEnded) || reader.pendingBytes > 0 {
            lingeringClose()
        } else {
            closeAfterWrites()
        }
    }

    /// The request's target when it is for the stats page (its path for an absolute-form target).
    private func statsTarget(_ stats: StatsReporter) -> String? {
        guard
            reader.request.equals(reader.request.method, "GET") || reader.request.isHEAD
                || reader.request.equals(reader.request.method, "POST")
        else { return nil }
        if reader.request.hasPrefix(reader.request.target, stats.settings.uri) {
            return reader.request.string(reader.request.target)
        }
        guard !reader.request.hasPrefix(reader.request.target, "/"), let path = reader.request.absoluteForm?.path,
            path.hasPrefix(stats.settings.uri)
        else { return nil }
        return path
    }

    private func serveStats(_ stats: StatsReporter, target: String) {
        if site.draining.isSet { keepAlive = false }
        guard stats.authorizes(reader.request.firstValue(named: Self.authorizationName)) else {
            respondLocally(
                401,
                detail: "You need a valid user and password to access this content.",
                extraHeader: "www-authenticate: \(stats.challenge)\r\n",
                // HAProxy closes after its 401 without saying so.
                announceClose: false
            )
            return
        }
        if reader.request.equals(reader.request.method, "POST") {
            // HAProxy's answer to an admin action when the page has no 'stats admin': see other, denied.
            var out = context.channel.allocator.buffer(capacity: 160)
            out.writeString(
                reader.request.minorVersion == 0 ? "HTTP/1.0 303 See Other\r\n" : "HTTP/1.1 303 See Other\r\n"
            )
            out.writeString("cache-control: no-cache\r\ncontent-type: text/plain\r\ncontent-length: 0\r\n")
            out.writeString("location: \(stats.settings.uri);st=DENY\r\n")
            out.writeString(
                keepAlive
                    ? (reader.request.minorVersion == 0 ? "connection: keep-alive\r\n\r\n" : "\r\n")
                    : "connection: close\r\n\r\n"
            )
            writeToClient(out)
            if !keepAlive {
                if requestEnded && reader.pendingBytes == 0 { closeAfterWrites() } else { lingeringClose() }
            } else if requestEnded {
                servedRequests += 1
                awaitNextRequest()
            } else {
                servedRequests += 1
                context.flush()
                phase = .local
                armClientBodyTimer()
            }
            return
        }
        let page = stats.page(for: target)
        let body = page.body.utf8.count
        var out = context.channel.allocator.buffer(capacity: 256 + body)
        out.writeString(reader.request.minorVersion == 0 ? "HTTP/1.0 200 OK\r\n" : "HTTP/1.1 200 OK\r\n")
        out.writeString("content-type: \(page.contentType)\r\ncache-control: no-cache\r\n")
        if let refresh = page.refreshSeconds { out.writeString("refresh: \(refresh)\r\n") }
        out.writeString("content-length: \(body)\r\n")
        if !keepAlive {
            out.writeString("connection: close\r\n")
        } else if reader.request.minorVersion == 0 {
            out.writeString("connection: keep-alive\r\n")
        }
        out.writeString("\r\n")
        if !reader.request.isHEAD { out.writeString(page.body) }
        writeToClient(out)
        if !keepAlive {
            closeAfterWrites()
            return
        }
        context.flush()
        phase = .local
        if requestEnded {
            requestBodyEnded()
        } else {
            armClientBodyTimer()
        }
    }
}
