import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ProxyConfig
import Synchronization

/// One client connection of an HTTP frontend. Requests are handled one at a time: a pipelined request is
/// held (and reading paused) until the exchange before it is over; for each it routes (ACLs, sticky cookie, balance), borrows a keep-alive
/// connection to the chosen server or opens one (retrying the next server on failure), streams the request
/// body up and the response down with backpressure both ways, and answers 502/503/504 itself when no
/// server can. Everything runs on the client's event loop; server connections are opened on it too.
final class HTTPFrontendHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Phase {
        /// Between requests.
        case idle
        /// Routed; waiting for a connection to the server (request parts are buffered).
        case connecting
        /// Request and response flowing between client and server.
        case forwarding
        /// The engine answered itself (stats); the request's end is still to come.
        case local
        /// The connection is closing; everything else is dropped.
        case closing
    }

    private let site: HTTPSite
    private let clientAddress: String?
    private let sourceBytes: [UInt8]?
    private var context: ChannelHandlerContext!
    private var phase = Phase.idle
    private var servedRequests = 0
    private var pendingRead = false
    /// Between a client read and its read-complete: writes to the server wait for the flush there.
    private var inClientRead = false
    /// Parts of pipelined requests read while an exchange was still going.
    private var pipelined: [HTTPServerRequestPart] = []

    // The current exchange.
    private var exchangeID = 0
    private var requestHead = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
    private var upstreamHead = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
    private var pool: BackendPool?
    private var server: Int?
    private var tried: Set<Int> = []
    private var buffered: [HTTPClientRequestPart] = []
    private var upstream: UpstreamHandler?
    private var reusedConnection = false
    private var retriedFresh = false
    private var continueSent = false
    private var requestEnded = false
    private var responseStarted = false
    private var keepAlive = true
    private var setCookie: String?
    private var lastServerActivity = NIODeadline.now()
    /// The last error the server connection reported (for the log and the error page).
    var upstreamError: (any Error)?

    init(site: HTTPSite, clientAddress: SocketAddress?) {
        self.site = site
        self.clientAddress = clientAddress?.ipAddress
        self.sourceBytes = RequestRouter.rawBytes(clientAddress)
    }

    /// Whether the client can take more response bytes now.
    var clientWritable: Bool { context?.channel.isWritable ?? false }

    // MARK: - Client side

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelActive(context: ChannelHandlerContext) {
        site.counters.opened()
        armClientTimer(site.requestTimeout, firstRequest: true)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        site.counters.closed()
        phase = .closing
        timerPurpose = nil
        timerTask?.cancel()
        timerTask = nil
        if let upstream {
            // The client left mid-exchange: the server connection cannot be reused.
            self.upstream = nil
            upstream.exchange = nil
            upstream.close()
        }
        releaseServer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        inClientRead = true
        if case .closing = phase { return }
        // A pipelined request waits until the current exchange is over (reads pause meanwhile).
        if !pipelined.isEmpty || (requestEnded && !isIdle) {
            pipelined.append(part)
            return
        }
        handle(part)
    }

    private var isIdle: Bool {
        if case .idle = phase { return true }
        return false
    }

    /// Handles queued pipelined parts while the connection is between exchanges.
    private func drainPipelined() {
        while !pipelined.isEmpty && !(requestEnded && !isIdle) {
            if case .closing = phase {
                pipelined = []
                return
            }
            handle(pipelined.removeFirst())
        }
    }

    private func handle(_ part: HTTPServerRequestPart) {
        switch part {
        case .head(let head):
            guard case .idle = phase else { return }
            begin(head)
        case .body(let buffer):
            switch phase {
            case .connecting: buffered.append(.body(.byteBuffer(buffer)))
            case .forwarding: upstream?.send(.body(.byteBuffer(buffer)))
            default: break
            }
        case .end(let trailers):
            requestEnded = true
            switch phase {
            case .connecting:
                buffered.append(.end(trailers))
            case .forwarding:
                upstream?.send(.end(trailers))
                if !inClientRead { upstream?.flush() }
                lastServerActivity = .now()
                armServerTimer()
            case .local:
                phase = .idle
                armClientTimer(site.keepAliveTimeout, firstRequest: false)
                drainPipelined()
            default:
                break
            }
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
        guard error is HTTPParserError else {
            context.close(promise: nil)
            return
        }
        // A malformed request (or one beyond the header limits): 400 and close, unless a response is
        // already on its way to the client, which is then cut.
        site.counters.failed()
        let responseOpen: Bool
        switch phase {
        case .forwarding: responseOpen = responseStarted
        case .closing: responseOpen = true
        case .idle, .connecting, .local: responseOpen = false
        }
        if responseOpen {
            phase = .closing
            context.close(promise: nil)
        } else {
            respondLocally(.badRequest, detail: "The request is malformed or its head is too large.")
        }
    }

    /// The client shut its sending side: between requests that ends the connection; after a complete request
    /// the response is still sent (then the connection closes); in the middle of a request the request is lost.
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
                keepAlive = false
            } else {
                phase = .closing
                context.close(promise: nil)
            }
        case .closing:
            break
        }
    }

    func read(context: ChannelHandlerContext) {
        if !pipelined.isEmpty {
            pendingRead = true
            return
        }
        switch phase {
        case .connecting:
            pendingRead = true
        case .forwarding where upstream.map({ !$0.isWritable }) ?? false:
            pendingRead = true
        default:
            context.read()
        }
    }

    private func readIfPending() {
        if pendingRead {
            pendingRead = false
            context.read()
        }
    }

    // MARK: - Starting an exchange

    private func begin(_ head: HTTPRequestHead) {
        clearTimer()
        exchangeID += 1
        site.counters.requests.add(1, ordering: .relaxed)
        requestHead = head
        requestEnded = false
        responseStarted = false
        reusedConnection = false
        retriedFresh = false
        continueSent = false
        tried = []
        buffered = []
        setCookie = nil
        upstreamError = nil
        keepAlive = HTTPMessageRules.keepsAlive(head.version, head.headers)

        if let (status, detail) = HTTPMessageRules.rejection(of: head) {
            site.counters.failed()
            respondLocally(status, detail: detail)
            return
        }
        if let stats = site.stats, head.uri.hasPrefix(stats.settings.uri) {
            serveStats(stats, head)
            return
        }
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let facts = RequestFacts(path: path, host: head.headers["host"].first, source: sourceBytes)
        guard let backendName = site.router.backend(for: facts), let pool = site.pools[backendName] else {
            site.counters.failed()
            respondLocally(.serviceUnavailable, detail: "No backend matches this request.")
            return
        }
        self.pool = pool
        var preferred: Int?
        var presented: String?
        if let cookie = pool.backend.cookie {
            presented = HTTPMessageRules.cookie(cookie.name, in: head.headers)
            preferred = presented.flatMap(pool.server(cookie:))
        }
        guard let index = pool.pick(client: clientAddress, preferred: preferred) else {
            site.counters.failed()
            respondLocally(.serviceUnavailable, detail: "No server is available to handle this request.")
            return
        }
        server = index
        upstreamHead = HTTPMessageRules.upstreamRequest(
            head,
            clientAddress: clientAddress,
            forwardFor: site.frontend.forwardFor || pool.backend.forwardFor,
            removeCookie: pool.backend.cookie.flatMap { $0.indirect ? $0.name : nil },
            serverAuthority: pool.authorities[index]
        )
        phase = .connecting
        connect(index, preferIdle: true)
    }

    /// The sticky cookie to set when the chosen server is not the one the client presented.
    private func stickyCookie(for index: Int) -> String? {
        guard let pool, let cookie = pool.backend.cookie, cookie.insert,
            let value = pool.backend.servers[index].cookie,
            HTTPMessageRules.cookie(cookie.name, in: requestHead.headers) != value
        else { return nil }
        return "\(cookie.name)=\(value); path=/"
    }

    private func connect(_ index: Int, preferIdle: Bool) {
        guard let pool else { return }
        let key = UpstreamKey(backend: pool.backend.name, server: index)
        let loop = context.eventLoop
        if preferIdle, let idle = site.connections.take(key, on: loop) {
            attach(idle, reused: true)
            return
        }
        let server = pool.backend.servers[index]
        let counters = pool.traffic[index]
        let timeout = TimeAmount.of(pool.backend.timeouts.connect ?? site.frontend.timeouts.connect ?? .seconds(5))
        let id = exchangeID
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    try operations.addHandler(ByteCountingHandler(counters: counters))
                    // Headers forwarded come from llhttp or the engine: no outbound validation (see the
                    // server pipeline in ProxyEngine).
                    try operations.addHTTPClientHandlers(
                        enableOutboundHeaderValidation: false,
                        encoderConfiguration: HTTPMessageRules.upstreamEncoderConfiguration
                    )
                    try operations.addHandler(UpstreamHandler(key: key))
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
        if tried.count <= pool.backend.retries, let next = pool.pick(client: clientAddress, excluding: tried) {
            server = next
            connect(next, preferIdle: true)
        } else {
            site.counters.failed()
            respondLocally(.serviceUnavailable, detail: "No server could be reached to handle this request.")
        }
    }

    private func attach(_ handler: UpstreamHandler, reused: Bool) {
        guard let server else { return }
        upstream = handler
        handler.exchange = self
        reusedConnection = reused
        phase = .forwarding
        setCookie = stickyCookie(for: server)
        if !requestEnded && !continueSent
            && HTTPMessageRules.tokens(requestHead.headers["expect"]).contains("100-continue")
        {
            // The Expect header is not forwarded; the client learns here that it may send the body.
            continueSent = true
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: requestHead.version, status: .continue))),
                promise: nil
            )
        }
        handler.send(.head(upstreamHead))
        for part in buffered { handler.send(part) }
        buffered = []
        // Inside a client read, channelReadComplete flushes once for everything that read brought.
        if !inClientRead { handler.flush() }
        lastServerActivity = .now()
        if requestEnded { armServerTimer() }
        if handler.isWritable { readIfPending() }
    }

    // MARK: - Server side (called by UpstreamHandler)

    func upstream(_ handler: UpstreamHandler, received part: HTTPClientResponsePart) {
        guard handler === upstream else { return }
        lastServerActivity = .now()
        switch part {
        case .head(let head):
            guard head.status.code >= 200 else { return }
            responseStarted = true
            if site.draining.isSet { keepAlive = false }
            if !HTTPMessageRules.serverKeepsAlive(head) { handler.reusable = false }
            if !HTTPMessageRules.clientResponseFramed(head, requestVersion: requestHead.version) { keepAlive = false }
            let response = HTTPMessageRules.clientResponse(
                head,
                requestVersion: requestHead.version,
                keepAlive: keepAlive,
                setCookie: setCookie,
                nocache: pool?.backend.cookie?.nocache ?? false
            )
            context.write(wrapOutboundOut(.head(response)), promise: nil)
        case .body(let buffer):
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        case .end(let trailers):
            finishExchange(handler, trailers)
        }
    }

    func upstreamReadComplete() { context.flush() }

    func upstreamBecameWritable() { readIfPending() }

    private func finishExchange(_ handler: UpstreamHandler, _ trailers: HTTPHeaders?) {
        clearTimer()
        upstream = nil
        handler.exchange = nil
        releaseServer()
        if requestEnded && handler.reusable && handler.isActive {
            site.connections.park(handler, on: context.eventLoop)
        } else {
            handler.close()
        }
        // A request whose body is still coming cannot be followed by another on this connection.
        let keep = keepAlive && requestEnded
        servedRequests += 1
        phase = keep ? .idle : .closing
        if keep {
            context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
            armClientTimer(site.keepAliveTimeout, firstRequest: false)
            drainPipelined()
            if pipelined.isEmpty { readIfPending() }
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(trailers))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func upstreamClosed(_ handler: UpstreamHandler) {
        guard handler === upstream else { return }
        upstream = nil
        clearTimer()
        guard let pool, let server else { return }
        if responseStarted {
            // Cut mid-response: the client cannot be told otherwise.
            pool.traffic[server].failed()
            releaseServer()
            phase = .closing
            context.close(promise: nil)
            return
        }
        let hasBody = HTTPMessageRules.hasBody(requestHead)
        if reusedConnection && !retriedFresh && !hasBody && requestEnded {
            // A kept-alive connection the server closed just as it was reused: send again on a new one.
            retriedFresh = true
            phase = .connecting
            buffered = [.end(nil)]
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
        respondLocally(.badGateway, detail: "The server closed the connection without sending a response.")
    }

    // MARK: - Timers

    private enum TimerPurpose {
        case firstRequest
        case keepAlive
        case server
    }

    // One scheduled task per connection, moved only when a deadline comes earlier than it: most requests
    // just push the deadline later, which costs nothing until the task fires and re-arms itself.
    private var timerPurpose: TimerPurpose?
    private var timerDeadline = NIODeadline.distantFuture
    private var timerTask: Scheduled<Void>?
    private var timerTaskAt = NIODeadline.distantFuture
    private var serverLimit = TimeAmount.seconds(60)

    private func clearTimer() { timerPurpose = nil }

    private func setTimer(_ purpose: TimerPurpose, _ deadline: NIODeadline) {
        timerPurpose = purpose
        timerDeadline = deadline
        if timerTask == nil || deadline < timerTaskAt { scheduleTimer(at: deadline) }
    }

    private func scheduleTimer(at deadline: NIODeadline) {
        timerTask?.cancel()
        timerTaskAt = deadline
        timerTask = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.timerFired() }
    }

    private func timerFired() {
        timerTask = nil
        timerTaskAt = .distantFuture
        guard let purpose = timerPurpose else { return }
        let deadline = purpose == .server ? lastServerActivity + serverLimit : timerDeadline
        if NIODeadline.now() < deadline {
            scheduleTimer(at: deadline)
            return
        }
        timerPurpose = nil
        switch purpose {
        case .firstRequest:
            guard isIdle else { return }
            respondLocally(.requestTimeout, detail: "The request did not arrive in time.")
        case .keepAlive:
            guard isIdle else { return }
            phase = .closing
            context.close(promise: nil)
        case .server:
            guard case .forwarding = phase else { return }
            serverTimedOut()
        }
    }

    private func armClientTimer(_ timeout: TimeAmount, firstRequest: Bool) {
        // A draining engine does not keep idle clients long.
        let timeout = site.draining.isSet ? min(timeout, .seconds(1)) : timeout
        setTimer(firstRequest ? .firstRequest : .keepAlive, .now() + timeout)
    }

    private func armServerTimer() {
        guard let pool else { return }
        serverLimit = TimeAmount.of(pool.backend.timeouts.server ?? .seconds(60))
        setTimer(.server, lastServerActivity + serverLimit)
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
            respondLocally(.gatewayTimeout, detail: "The server did not answer in time.")
        }
    }

    // MARK: - Answers from the engine itself

    private func releaseServer() {
        if let pool, let server {
            pool.release(server)
            self.server = nil
        }
    }

    /// Writes an error page and closes the connection.
    private func respondLocally(_ status: HTTPResponseStatus, detail: String) {
        phase = .closing
        let (head, body) = HTTPErrorPage.response(
            status,
            detail: detail,
            version: requestHead.version,
            allocator: context.channel.allocator
        )
        let channel = context.channel
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if requestHead.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    private func serveStats(_ stats: StatsReporter, _ head: HTTPRequestHead) {
        guard head.method == .GET || head.method == .HEAD else {
            respondLocally(.methodNotAllowed, detail: "The stats page answers GET and HEAD.")
            return
        }
        if site.draining.isSet { keepAlive = false }
        let page = stats.page(for: head.uri)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: page.contentType)
        headers.add(name: "cache-control", value: "no-cache")
        if let refresh = page.refreshSeconds { headers.add(name: "refresh", value: "\(refresh)") }
        let body = context.channel.allocator.buffer(string: page.body)
        headers.add(name: "content-length", value: "\(body.readableBytes)")
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let version: HTTPVersion = head.version.minor == 0 ? .http1_0 : .http1_1
        if keepAlive && head.version.minor == 0 { headers.add(name: "connection", value: "keep-alive") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .ok, headers: headers))),
            promise: nil
        )
        if head.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        if keepAlive {
            phase = .local
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            phase = .closing
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
