// Each Pester file is a test class of its own, so a test collection of its own: xunit may start all of them at once
// (-1: no thread limit of xunit's; a file waits on a pwsh process, not a thread). How many pwsh processes actually run at
// the same time is PesterFileRunTests.Parallelism.
[assembly: CollectionBehavior(MaxParallelThreads = -1)]
