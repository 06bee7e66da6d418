using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>Collects keys (volume ids, instance ids) for a short moment and looks them up in batches of at most
/// <c>maxBatch</c> with one fetch, so a pipeline's ids cost one Describe per 200 instead of one each. Each key is looked
/// up once; a key the fetch did not return resolves to null (not found); a failed fetch fails its batch's keys.</summary>
internal sealed class KeyBatcher<T> where T : class
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _collectDelay;
    private readonly int _maxBatch;
    private readonly Func<List<string>, Task<Dictionary<string, T>>> _fetch;
    private readonly CancellationToken _stop;
    private readonly object _gate = new();
    private readonly Dictionary<string, TaskCompletionSource<T?>> _results = new(StringComparer.Ordinal);
    private readonly List<string> _pending = new();
    private bool _running;

    public KeyBatcher(TimeProvider time, TimeSpan collectDelay, int maxBatch, Func<List<string>, Task<Dictionary<string, T>>> fetch,
        CancellationToken stop)
    {
        _time = time;
        _collectDelay = collectDelay;
        _maxBatch = maxBatch;
        _fetch = fetch;
        _stop = stop;
    }

    public Task<T?> GetAsync(string key)
    {
        lock (_gate)
        {
            if (_results.TryGetValue(key, out var known)) return known.Task;
            var item = new TaskCompletionSource<T?>(TaskCreationOptions.RunContinuationsAsynchronously);
            _results[key] = item;
            _pending.Add(key);
            if (!_running)
            {
                _running = true;
                _ = Task.Run(RunAsync);
            }
            return item.Task;
        }
    }

    private async Task RunAsync()
    {
        while (true)
        {
            List<string> batch;
            try
            {
                await _time.Delay(_collectDelay, _stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                FailAll(null);
                return;
            }
            lock (_gate)
            {
                if (_pending.Count == 0) { _running = false; return; }
                batch = _pending.Take(_maxBatch).ToList();
                _pending.RemoveRange(0, batch.Count);
            }
            try
            {
                var found = await _fetch(batch).ConfigureAwait(false);
                foreach (var key in batch) Item(key).TrySetResult(found.TryGetValue(key, out var value) ? value : null);
            }
            catch (Exception ex)
            {
                foreach (var key in batch)
                {
                    if (ex is OperationCanceledException && _stop.IsCancellationRequested) Item(key).TrySetCanceled();
                    else Item(key).TrySetException(ex);
                }
            }
        }
    }

    private TaskCompletionSource<T?> Item(string key)
    {
        lock (_gate) return _results[key];
    }

    private void FailAll(Exception? ex)
    {
        List<TaskCompletionSource<T?>> left;
        lock (_gate)
        {
            left = _pending.Select(k => _results[k]).ToList();
            _pending.Clear();
            _running = false;
        }
        foreach (var item in left)
        {
            if (ex is null) item.TrySetCanceled();
            else item.TrySetException(ex);
        }
    }
}
