import BenchmarkSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A floor client: libhiredis's blocking API on one connection, one command per round trip, no
/// Swift concurrency, no pool, no reply decoding beyond the reply type. libhiredis is loaded
/// with `dlopen`, since the benchmark package cannot import the root package's `CHiredis`.
final class BareHiredis {
    private typealias Connect = @convention(c) (UnsafePointer<CChar>?, Int32) -> OpaquePointer?
    private typealias CommandArgv =
        @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int>?) ->
        UnsafeMutableRawPointer?
    private typealias FreeReply = @convention(c) (UnsafeMutableRawPointer?) -> Void
    private typealias Free = @convention(c) (OpaquePointer?) -> Void

    private let commandArgv: CommandArgv
    private let freeReply: FreeReply
    private let free: Free
    private let context: OpaquePointer

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// A prepared command: its arguments as C strings, kept for the client's life.
    final class Command {
        fileprivate var pointers: [UnsafePointer<CChar>?]
        fileprivate let lengths: [Int]

        init(_ arguments: [String]) {
            pointers = arguments.map { UnsafePointer(strdup($0)) }
            lengths = arguments.map { $0.utf8.count }
        }

        deinit { for pointer in pointers { Glibc.free(UnsafeMutablePointer(mutating: pointer)) } }
    }

    /// Connects to the server on `port` of 127.0.0.1.
    init(port: Int) throws {
        let library = try DynamicLibrary("libhiredis.so.0.14", "libhiredis.so")
        let connect = try library.function("redisConnect", as: Connect.self)
        commandArgv = try library.function("redisCommandArgv", as: CommandArgv.self)
        freeReply = try library.function("freeReplyObject", as: FreeReply.self)
        free = try library.function("redisFree", as: Free.self)
        guard let context = connect("127.0.0.1", Int32(port)) else { throw Failure(description: "cannot connect") }
        // redisContext starts with `int err`.
        guard UnsafeRawPointer(context).load(as: Int32.self) == 0 else {
            free(context)
            throw Failure(description: "cannot connect to port \(port)")
        }
        self.context = context
    }

    deinit { free(context) }

    /// Sends `command` and waits for its reply; throws on a connection failure or an error reply.
    func run(_ command: Command) throws {
        guard
            let reply = command.pointers.withUnsafeMutableBufferPointer({ pointers in
                command.lengths.withUnsafeBufferPointer { lengths in
                    commandArgv(context, Int32(pointers.count), pointers.baseAddress, lengths.baseAddress)
                }
            })
        else { throw Failure(description: "connection failed") }
        // redisReply starts with `int type`; 6 is REDIS_REPLY_ERROR.
        let type = reply.load(as: Int32.self)
        freeReply(reply)
        if type == 6 { throw Failure(description: "error reply") }
    }
}
