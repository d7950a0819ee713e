// `Scripts/bench.sh` fronts `nio-floor-*` and `nio-bytes-*`: the least an HTTP/1 proxy on
// SwiftNIO does, run side by side with nginx and the gateway so the gateway's cost can be split into
// what the stack costs (this program) and what the gateway's own work costs (routing, flags,
// adapters, pair records, metrics, limits, timeouts).
//
// What it does, and nothing more: one event loop; NIO's HTTP/1 server pipeline; per upstream a stack
// of idle keep-alive connections with one request in flight each (NIO's request encoder and
// response decoder); the client gets the legacy answer's status, content type and body; in mirror
// mode the same request goes to the learner and its answer is dropped (at most 256 in flight, the
// rest are not sent). No timeouts, no limits, no parsing of bodies: it is a measuring stick, not a
// gateway, and it is not fit to front anything.
//
// With `--bytes` it does even less: no NIOHTTP1 at all. Requests and answers are framed by scanning
// the bytes for the end of the head and a content-length (no chunked bodies), and forwarded verbatim;
// that is the lowest a proxy on NIO's channels can cost here, whatever its HTTP code.
//
// `--work-us N` (with `--bytes`) adds N µs of busy user-space work per request (see `AddedWork`).
//
// usage: shadowgate-nio-floor [--bytes [--work-us N]] LISTEN_PORT LEGACY_PORT [LEARNER_PORT]
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import NIOPosix

var arguments = Array(CommandLine.arguments.dropFirst())
let bytesFraming = arguments.first == "--bytes"
if bytesFraming { arguments.removeFirst() }
var workMicros: UInt64 = 0
if bytesFraming, arguments.first == "--work-us", arguments.count > 1, let micros = UInt64(arguments[1]) {
    workMicros = micros
    arguments.removeFirst(2)
}
let addedWork = AddedWork(nanoseconds: workMicros * 1000)
guard arguments.count == 2 || arguments.count == 3,
      let listenPort = Int(arguments[0]), let legacyPort = Int(arguments[1])
else {
    print("usage: shadowgate-nio-floor [--bytes [--work-us N]] LISTEN_PORT LEGACY_PORT [LEARNER_PORT]")
    exit(2)
}
let learnerPort = arguments.count == 3 ? Int(arguments[2]) : nil

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let loop = group.next()
let httpUpstreams = FloorUpstreams<HTTPFloorExchange>(loop: loop, legacyPort: legacyPort, learnerPort: learnerPort)
let byteUpstreams = FloorUpstreams<ByteFloorExchange>(loop: loop, legacyPort: legacyPort, learnerPort: learnerPort)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .serverChannelOption(.maxMessagesPerRead, value: 256)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelOption(.maxMessagesPerRead, value: 16)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            if bytesFraming {
                try channel.pipeline.syncOperations.addHandler(ByteFloorClientHandler(upstreams: byteUpstreams, work: addedWork))
            } else {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
                try channel.pipeline.syncOperations.addHandler(HTTPFloorClientHandler(upstreams: httpUpstreams))
            }
        }
    }
    .bind(host: "127.0.0.1", port: listenPort)
    .wait()
print("shadowgate-nio-floor\(bytesFraming ? " --bytes" : "")\(addedWork.nanoseconds > 0 ? " --work-us \(addedWork.nanoseconds / 1000)" : "") listening on 127.0.0.1:\(listenPort) (legacy :\(legacyPort)\(learnerPort.map { ", learner :\($0)" } ?? ""))")
try server.closeFuture.wait()
