// `import Lockheed` gives the core API too: the umbrella is what applications and the command use.
@_exported import LockheedCore
