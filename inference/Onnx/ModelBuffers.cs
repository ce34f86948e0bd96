using System.Runtime.InteropServices;

namespace InferenceGateway.Inference.Onnx;

/// <summary>
/// Large arrays for model bytes. A cold start writes a whole model (91 MB for all-MiniLM-L6-v2) into
/// fresh memory, and on Linux with 4 KiB pages that is one page fault per 4 KiB, about 22 000 for that
/// model; on the virtual machine measured here they cost ~12 µs each (≈ 270 ms for the read alone,
/// and ≈ 130 ms more for the first pass over the bytes after it, the hash check). Asking for
/// transparent huge pages (<c>madvise(MADV_HUGEPAGE)</c>, which the kernel's default <c>madvise</c>
/// mode honours) makes that about 45 faults of 2 MiB: read and check took 50-100 ms. Best effort:
/// where it is not supported the array is used as it is.
/// </summary>
internal static class ModelBuffers
{
    private const int HugePageSize = 2 << 20;
    private const int MadviseHugePage = 14; // MADV_HUGEPAGE

    /// <summary>An uninitialised array of <paramref name="length"/> bytes that never moves (ONNX Runtime may use it in place), backed by huge pages where the OS gives them.</summary>
    public static byte[] AllocatePinned(int length)
    {
        var bytes = GC.AllocateUninitializedArray<byte>(length, pinned: true);
        if (OperatingSystem.IsLinux() && length >= 2 * HugePageSize)
        {
            // Before the first write: a page already faulted in stays small.
            var start = Marshal.UnsafeAddrOfPinnedArrayElement(bytes, 0);
            var first = (start + (HugePageSize - 1)) & ~(nint)(HugePageSize - 1);
            var end = (start + length) & ~(nint)(HugePageSize - 1);
            try
            {
                _ = Madvise(first, (nuint)(end - first), MadviseHugePage);
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                // No libc madvise (another C library): small pages, as without the advice.
            }
        }

        return bytes;
    }

    [DllImport("libc", EntryPoint = "madvise")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Madvise(nint address, nuint length, int advice);
}
