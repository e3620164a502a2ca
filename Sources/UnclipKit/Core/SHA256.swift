import COpenSSL
import Foundation

/// SHA-256 (FIPS 180-4) by OpenSSL's libcrypto. Embedding files record the
/// hash of their source and of the model's weights, and `model pull` checks
/// downloads against the hub's digest. libcrypto is the maintained
/// implementation, and it uses the CPU's SHA instructions where there are
/// any.
public struct SHA256 {
    /// The digest context; one per hash, freed with it.
    private final class Context {
        let ctx: OpaquePointer
        init() {
            // Fails only when memory runs out.
            guard let c = EVP_MD_CTX_new(), EVP_DigestInit_ex(c, EVP_sha256(), nil) == 1 else {
                fatalError("libcrypto: cannot start a SHA-256 digest")
            }
            ctx = c
        }
        deinit { EVP_MD_CTX_free(ctx) }
    }

    private let context = Context()

    public init() {}

    public mutating func update(_ data: UnsafeRawBufferPointer) {
        guard let base = data.baseAddress, data.count > 0 else { return }
        EVP_DigestUpdate(context.ctx, base, data.count)
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The 32-byte digest; the hash is spent afterwards.
    public mutating func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var n: UInt32 = 0
        out.withUnsafeMutableBufferPointer { _ = EVP_DigestFinal_ex(context.ctx, $0.baseAddress, &n) }
        return out
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        var h = SHA256(); h.update(bytes)
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }

    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var h = SHA256(); h.update(bytes)
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
