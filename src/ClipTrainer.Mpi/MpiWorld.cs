using System.Globalization;
using System.Runtime.InteropServices;
using ClipTrainer.Clipping;
using TorchSharp;
using static TorchSharp.torch;

namespace ClipTrainer.Mpi;

/// <summary>
/// This process's place in an MPI job (<c>MPI_COMM_WORLD</c>) through MPI.NET on Debian's MPICH: its rank, the number
/// of ranks, and an in-place all-reduce on a tensor's own memory. Create one per process, before any other MPI call,
/// and dispose it (<c>MPI_Finalize</c>) at the end.
/// </summary>
/// <remarks>
/// <para>
/// MPI.NET 1.4.0 is built against MS-MPI (<c>msmpi.dll</c>, 32-bit handles). MPICH uses the same handle values, so
/// the name is mapped to <c>libmpich.so.12</c>; Open MPI's handles are pointers and crash it, so a job started by Open
/// MPI's <c>mpirun</c> is refused (each of its processes would see a world of one and train alone).
/// </para>
/// <para>
/// Started without a launcher (<c>dotnet MyApp.dll</c>), the process is a world of one rank (MPI's singleton start),
/// so the same program runs in one process unchanged. Started with <c>mpiexec -n N</c> (MPICH's hydra), it is one of N
/// ranks; with <c>-f hostfile</c> they may be on several machines.
/// </para>
/// </remarks>
public sealed class MpiWorld : IDisposable
{
    /// <summary>The shared library MPICH installs on Debian 12 and Ubuntu (package <c>mpich</c>, <c>libmpich12</c>).</summary>
    public const string MpichLibrary = "libmpich.so.12";

    /// <summary>What to run when MPICH is missing.</summary>
    public const string InstallCommand = "apt-get install -y mpich";

    // MPI_IN_PLACE is (void*)-1 in MPICH and MS-MPI alike; MPI.NET does not export it.
    private static readonly IntPtr InPlace = new(-1);

    private static readonly object Gate = new();
    private static MpiWorld? _current;
    private static bool _resolverSet;

    private readonly MPI.Environment _environment;
    private bool _disposed;

    private MpiWorld(MPI.Environment environment, int rank, int size)
    {
        _environment = environment;
        Rank = rank;
        Size = size;
    }

    /// <summary>Gets this process's rank: 0 ≤ rank &lt; <see cref="Size"/>.</summary>
    public int Rank { get; }

    /// <summary>Gets the number of ranks in the job (1 without a launcher).</summary>
    public int Size { get; }

    /// <summary>Gets whether this is rank 0, the one that writes models, histories and monitoring files.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>Gets whether MPICH's shared library can be loaded on this machine (false: run <see cref="InstallCommand"/>).</summary>
    public static bool IsMpichInstalled
    {
        get
        {
            if (!NativeLibrary.TryLoad(MpichLibrary, out var handle)) return false;
            NativeLibrary.Free(handle);
            return true;
        }
    }

    /// <summary>
    /// Initialises MPI (<c>MPI_Init</c>) and checks that the launcher and the library agree on the number of ranks.
    /// </summary>
    /// <param name="args">The program's arguments (MPI may read and remove its own).</param>
    /// <returns>The world; dispose it when the program ends.</returns>
    /// <exception cref="DllNotFoundException">MPICH is not installed; the message says how to install it.</exception>
    /// <exception cref="InvalidOperationException">
    /// The process was started by Open MPI's <c>mpirun</c>, or the launcher announced more ranks than MPI sees (a
    /// launcher of another MPI); or a world already exists in this process (MPI can be initialised once per process).
    /// </exception>
    public static MpiWorld Initialize(ref string[] args)
    {
        lock (Gate)
        {
            if (_current is not null)
                throw new InvalidOperationException("MPI is already initialised in this process: create one MpiWorld and share it.");
            var openMpiSize = System.Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE");
            if (openMpiSize is not null)
                throw new InvalidOperationException(
                    $"This process was started by Open MPI's mpirun (OMPI_COMM_WORLD_SIZE={openMpiSize}), but ClipTrainer.Mpi runs on MPICH, " +
                    "whose ranks Open MPI cannot connect: every process would train alone. Launch with MPICH's hydra instead: " +
                    "mpiexec.mpich -n N dotnet ... (or mpiexec, when it is MPICH's: `mpiexec --version` says HYDRA).");
            if (!IsMpichInstalled)
                throw new DllNotFoundException(
                    $"MPICH's library {MpichLibrary} was not found. Install it with `{InstallCommand}` (Debian 12/Ubuntu, as root), then launch with mpiexec -n N.");
            SetResolver();

            var environment = new MPI.Environment(ref args);
            var world = MPI.Communicator.world;
            var announced = AnnouncedSize();
            if (announced is int expected && expected != world.Size)
            {
                var message =
                    $"The launcher started {expected} ranks (PMI_SIZE={expected}) but MPI sees a world of {world.Size}: the launcher belongs to " +
                    "another MPI than MPICH's library. Launch with MPICH's hydra: mpiexec.mpich -n N dotnet ...";
                environment.Dispose();
                throw new InvalidOperationException(message);
            }

            _current = new MpiWorld(environment, world.Rank, world.Size);
            return _current;
        }
    }

    /// <summary>
    /// Reduces <paramref name="values"/> element-wise across every rank and writes the result into it on every rank,
    /// in place on the tensor's own memory (one <c>MPI_Allreduce</c> with <c>MPI_IN_PLACE</c>, no copy). Every rank must
    /// call it with a tensor of the same size and type, in the same order.
    /// </summary>
    /// <param name="values">A contiguous CPU tensor of float32 or float64, at most 2³¹−1 elements.</param>
    /// <param name="reduction">Sum or maximum.</param>
    /// <exception cref="ArgumentNullException"><paramref name="values"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="values"/> is not a contiguous CPU float32/float64 tensor, or is too large.</exception>
    /// <exception cref="InvalidOperationException">MPI reported an error (its code is in the message).</exception>
    /// <exception cref="ObjectDisposedException">The world was disposed.</exception>
    public void AllReduceInPlace(Tensor values, ShardReduction reduction)
    {
        ArgumentNullException.ThrowIfNull(values);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (values.device_type != DeviceType.CPU || !values.is_contiguous() || values.dtype is not (ScalarType.Float32 or ScalarType.Float64))
            throw new ArgumentException(
                $"All-reduce needs a contiguous CPU float32 or float64 tensor; got {values.dtype} on {values.device}{(values.is_contiguous() ? "" : ", not contiguous")}.",
                nameof(values));
        if (values.numel() > int.MaxValue)
            throw new ArgumentException($"All-reduce takes at most {int.MaxValue} elements per call; got {values.numel()}.", nameof(values));
        if (values.numel() == 0) return;

        var type = values.dtype == ScalarType.Float32 ? MPI.Unsafe.MPI_FLOAT : MPI.Unsafe.MPI_DOUBLE;
        var operation = reduction == ShardReduction.Sum ? MPI.Unsafe.MPI_SUM : MPI.Unsafe.MPI_MAX;
        int code;
        unsafe
        {
            // The tensor's own memory (CPU, contiguous): no copy through an accessor (~13 ms per 1M floats each way).
            fixed (byte* data = values.bytes)
            {
                code = MPI.Unsafe.MPI_Allreduce(InPlace, (IntPtr)data, (int)values.numel(), type, operation, MPI.Unsafe.MPI_COMM_WORLD);
            }
        }

        if (code != 0)
            throw new InvalidOperationException($"MPI_Allreduce failed with MPI error code {code} on rank {Rank} of {Size}.");
    }

    /// <summary>Waits until every rank has called it (<c>MPI_Barrier</c>).</summary>
    /// <exception cref="ObjectDisposedException">The world was disposed.</exception>
    public void Barrier()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        MPI.Communicator.world.Barrier();
    }

    /// <summary>
    /// Ends every rank of the job at once (<c>MPI_Abort</c>), so that a failure on one rank cannot leave the others
    /// waiting forever in a collective call. Does not return.
    /// </summary>
    /// <param name="exitCode">The exit code the launcher reports: not 0.</param>
    public void Abort(int exitCode)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        MPI.Unsafe.MPI_Abort(MPI.Unsafe.MPI_COMM_WORLD, exitCode == 0 ? 1 : exitCode);
    }

    /// <summary>Finalises MPI (<c>MPI_Finalize</c>); no MPI call is possible afterwards in this process.</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            if (_disposed) return;
            _disposed = true;
            _environment.Dispose();
        }
    }

    // Hydra (MPICH's launcher) and most PMI-based launchers announce the job's size to every process.
    private static int? AnnouncedSize() =>
        int.TryParse(System.Environment.GetEnvironmentVariable("PMI_SIZE"), NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size : null;

    private static void SetResolver()
    {
        if (_resolverSet) return;
        NativeLibrary.SetDllImportResolver(typeof(MPI.Unsafe).Assembly, (name, assembly, searchPath) =>
            name.StartsWith("msmpi", StringComparison.OrdinalIgnoreCase) ? NativeLibrary.Load(MpichLibrary) : IntPtr.Zero);
        _resolverSet = true;
    }
}
