using System.Data.Common;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Foom.Server.Data;

/// <summary>
/// Every write of an upload goes through here. Concurrent uploads are gathered into one
/// transaction (a group commit), so one fsync makes a whole batch durable: the server answers
/// 202 only after the commit that holds the upload returned, yet the disk sees one commit per
/// batch instead of one per upload. A write that fails is retried alone, so one bad upload
/// never fails the others of its batch.
/// </summary>
public sealed class GroupCommitWriter : IAsyncDisposable
{
    private const int MaxBatch = 256;

    private readonly Database _database;
    private readonly ILogger _logger;
    private readonly Channel<IJob> _jobs = Channel.CreateBounded<IJob>(new BoundedChannelOptions(4096)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly Task _loop;
    private readonly Timer _checkpoints;
    private int _checkpointing;

    public GroupCommitWriter(Database database, ILogger logger)
    {
        _database = database;
        _logger = logger;
        _loop = Task.Factory.StartNew(Loop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        _checkpoints = new Timer(_ => Checkpoint(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    private void Checkpoint()
    {
        if (Interlocked.Exchange(ref _checkpointing, 1) == 1) return;
        try
        {
            _database.Checkpoint();
        }
        catch (Exception error)
        {
            _logger.LogWarning(error, "a WAL checkpoint failed; the next one retries");
        }
        finally
        {
            Volatile.Write(ref _checkpointing, 0);
        }
    }

    /// <summary>Batches committed so far, and the writes in them (for the benchmark notes).</summary>
    public long Batches { get; private set; }
    public long Writes { get; private set; }

    /// <summary>Runs <paramref name="write"/> inside the next batch's transaction; completes after the commit.</summary>
    public async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, T> write, CancellationToken cancellationToken = default)
    {
        var job = new Job<T>(write);
        await _jobs.Writer.WriteAsync(job, cancellationToken);
        return await job.Completion.Task;
    }

    private async Task Loop()
    {
        var batch = new List<IJob>(MaxBatch);
        while (await _jobs.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _jobs.Reader.TryRead(out var job)) batch.Add(job);
            if (batch.Count == 0) continue;
            try
            {
                RunBatch(batch);
            }
            catch (Exception batchError)
            {
                _logger.LogWarning(batchError, "a batch of {Count} writes failed; retrying each alone", batch.Count);
                foreach (var job in batch) RunAlone(job);
            }
        }
    }

    private void RunBatch(List<IJob> batch)
    {
        using var connection = _database.Open(forGroupCommit: true);
        using var transaction = connection.BeginTransaction();
        foreach (var job in batch) job.Run(connection, transaction);
        transaction.Commit();
        Batches++;
        Writes += batch.Count;
        foreach (var job in batch) job.Complete();
    }

    private void RunAlone(IJob job)
    {
        try
        {
            using var connection = _database.Open(forGroupCommit: true);
            using var transaction = connection.BeginTransaction();
            job.Run(connection, transaction);
            transaction.Commit();
            Batches++;
            Writes++;
            job.Complete();
        }
        catch (Exception error)
        {
            job.Fail(error);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _jobs.Writer.TryComplete();
        await _loop;
        await _checkpoints.DisposeAsync();
        Checkpoint();
    }

    private interface IJob
    {
        void Run(DbConnection connection, DbTransaction transaction);
        void Complete();
        void Fail(Exception error);
    }

    private sealed class Job<T>(Func<DbConnection, DbTransaction, T> write) : IJob
    {
        private T? _result;
        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public void Run(DbConnection connection, DbTransaction transaction) => _result = write(connection, transaction);
        public void Complete() => Completion.TrySetResult(_result!);
        public void Fail(Exception error) => Completion.TrySetException(error);
    }
}
