#if canImport(Glibc)
    import Glibc
#endif

/// A C library loaded with `dlopen`, for floors that call a library the benchmark package cannot
/// import as a module (the root package's C modules are not products).
public struct DynamicLibrary {
    /// Why a library or symbol could not be loaded.
    public struct Failure: Error, CustomStringConvertible {
        /// What was missing.
        public let description: String
    }

    private let handle: UnsafeMutableRawPointer

    /// Loads the first of `names` that `dlopen` finds.
    public init(_ names: String...) throws {
        guard let handle = names.lazy.compactMap({ dlopen($0, RTLD_NOW) }).first else {
            throw Failure(description: "none of \(names) could be loaded")
        }
        self.handle = handle
    }

    /// The function `symbol`, as the C function type `type`.
    public func function<T>(_ symbol: String, as type: T.Type) throws -> T {
        guard let pointer = dlsym(handle, symbol) else { throw Failure(description: "no \(symbol)") }
        return unsafeBitCast(pointer, to: type)
    }
}
