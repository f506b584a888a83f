import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Serves HTTP/1.1 requests on one connection: collects each request, applies its admission (delay, faults),
/// writes the answer, and streams watch events while a watch is open.
final class APIConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: APIRouter
    private let usesTLS: Bool
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var context: ChannelHandlerContext?
    private var watcherID: Int?
    private var watchTimers: [Scheduled<Void>] = []
    private var bookmarkTask: RepeatedTask?
    private var watchKeepAlive = false

    /// How often a watch with `allowWatchBookmarks=true` receives a BOOKMARK.
    static let bookmarkInterval = TimeAmount.seconds(1)

    init(router: APIRouter, usesTLS: Bool) {
        self.router = router
        self.usesTLS = usesTLS
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        endWatchRegistration()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        endWatchRegistration()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            guard let requestHead = head else { return }
            head = nil
            let request = APIRequest(
                method: requestHead.method.rawValue, uri: requestHead.uri,
                authorization: requestHead.headers.first(name: "Authorization"),
                body: Data(body.readableBytesView), certificateUser: certificateUser(context))
            let admission = router.admit(request)
            let keepAlive = requestHead.isKeepAlive
            if admission.delay > .zero {
                let nanoseconds =
                    admission.delay.components.seconds * 1_000_000_000
                    + admission.delay.components.attoseconds / 1_000_000_000
                context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) {
                    self.answer(request, admission, keepAlive: keepAlive)
                }
            } else {
                answer(request, admission, keepAlive: keepAlive)
            }
        }
    }

    private func certificateUser(_ context: ChannelHandlerContext) -> String? {
        guard usesTLS, let certificate = try? context.pipeline.syncOperations.nioSSL_peerCertificate() else {
            return nil
        }
        let description = certificate.description
        guard let range = description.range(of: ";common_name=") else { return "client-certificate" }
        let rest = description[range.upperBound...]
        return String(rest.prefix { $0 != ";" && $0 != ">" })
    }

    private func answer(_ request: APIRequest, _ admission: Admission, keepAlive: Bool) {
        guard let context else { return }
        switch router.respond(request, admission) {
        case .drop:
            context.close(promise: nil)
        case .full(let status, let body, let extraHeaders):
            var headers = Self.baseHeaders()
            headers.add(name: "Content-Length", value: String(body.count))
            for (name, value) in extraHeaders { headers.replaceOrAdd(name: name, value: value) }
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            let head = HTTPResponseHead(
                version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive {
                done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            }
        case .watch(let plan):
            startWatch(plan, context: context, keepAlive: keepAlive)
        }
    }

    private func startWatch(_ plan: WatchPlan, context: ChannelHandlerContext, keepAlive: Bool) {
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let (lines, id) = router.store.openWatch(
            filter: plan.filter, resourceVersion: plan.resourceVersion, sendInitialEvents: plan.sendInitialEvents
        ) {
            id in
            (
                sink: { line in loopBound.eventLoop.execute { loopBound.value.deliver(line, watcher: id) } },
                end: { loopBound.eventLoop.execute { loopBound.value.finishWatch(id) } }
            )
        }
        var headers = Self.baseHeaders()
        headers.add(name: "Transfer-Encoding", value: "chunked")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        for line in lines {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: line)))), promise: nil)
        }
        context.flush()
        watchKeepAlive = keepAlive
        guard let id else {
            finishStream()
            return
        }
        watcherID = id
        let loop = context.eventLoop.assumeIsolated()
        if let timeout = plan.timeoutSeconds, timeout > 0 {
            watchTimers.append(loop.scheduleTask(in: .seconds(Int64(timeout))) { self.finishWatch(id) })
        }
        if plan.bookmarks {
            let router = self.router
            bookmarkTask = context.eventLoop.scheduleRepeatedTask(
                initialDelay: Self.bookmarkInterval, delay: Self.bookmarkInterval
            ) { _ in router.store.sendBookmark(to: id) }
        }
    }

    /// Writes one watch line if this connection's watch is still open.
    private func deliver(_ line: Data, watcher: Int) {
        guard watcherID == watcher, let context else { return }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: line)))), promise: nil)
    }

    /// Ends watch `id` if it is still this connection's open watch.
    private func finishWatch(_ id: Int) {
        guard watcherID == id else { return }
        endWatchRegistration()
        finishStream()
    }

    /// Ends the watch response (timeout or 410), keeping the connection for the next request if it allows.
    private func finishStream() {
        guard let context else { return }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !watchKeepAlive {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    private func endWatchRegistration() {
        if let id = watcherID { router.store.removeWatcher(id) }
        watcherID = nil
        for timer in watchTimers { timer.cancel() }
        watchTimers.removeAll()
        bookmarkTask?.cancel()
        bookmarkTask = nil
    }

    private static func baseHeaders() -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Cache-Control", value: "no-cache, private")
        headers.add(name: "Audit-Id", value: UUID().uuidString.lowercased())
        return headers
    }
}
