using Avtomat.Ec2.Emulator.Actions;
using Avtomat.Ec2.Emulator.Model;
using Microsoft.AspNetCore.Http;

namespace Avtomat.Ec2.Emulator.Http;

/// <summary>Handles one EC2 Query call: credentials scope → account/region, action lookup, stats, credential faults,
/// the interceptor (before), injected faults, token buckets, the action itself (under the state lock), the interceptor
/// (after), then the response or a dropped connection. Every call is numbered and logged.</summary>
internal sealed class Ec2Endpoint(EmulatorState state)
{
    private const string ContentType = "text/xml;charset=UTF-8";

    public async Task HandleAsync(HttpContext http, Ec2Request request)
    {
        var requestId = Guid.NewGuid().ToString();
        var actionName = request.GetNonEmpty("Action");
        string body;
        int status;
        string? statsAction = null;
        string? accessKeyId = null, region = null;
        try
        {
            (accessKeyId, region, _) = SigV4Scope.Parse(http.Request.Headers.Authorization.ToString(), request.Get("X-Amz-Credential"));
            if (!state.IsKnownRegion(region))
                throw Ec2Error.AuthFailure("Credential should be scoped to a valid region.");
            if (actionName is null) throw Ec2Error.MissingParameter("Action");
            if (!ActionRegistry.All.TryGetValue(actionName, out var action))
                throw Ec2Error.BadRequest("InvalidAction", $"The action {actionName} is not valid for this web service.");
            statsAction = actionName;

            var outcome = Run(action, request, accessKeyId, SigV4Scope.SessionToken(http.Request, request), region, requestId);
            if (outcome.Drop) { http.Abort(); return; }
            if (outcome.Delay > TimeSpan.Zero) await Task.Delay(outcome.Delay);
            if (outcome.Abort) { http.Abort(); return; }
            (status, body) = (outcome.Status, outcome.Body);
        }
        catch (Ec2Error e)
        {
            // Rejected before an action could run (unreadable scope, unknown region or action): logged here.
            lock (state.Gate)
            {
                if (statsAction is not null) state.Stats.Error(statsAction, e.Code);
                var account = accessKeyId is null ? "" : state.AccountFor(accessKeyId);
                var call = state.Calls.Begin("ec2", actionName ?? "", account, region ?? "", accessKeyId, request.Values, state.Now);
                state.Calls.Add(call with { Status = e.Status, ErrorCode = e.Code, ErrorMessage = e.Message }, state.Options.CallLogCapacity);
            }
            (status, body) = (e.Status, XmlOut.Error(e.Code, e.Message, requestId));
        }
        await ServiceRouter.ReplyAsync(http, status, ContentType, body);
    }

    private sealed record Outcome(int Status, string Body, bool Drop = false, bool Abort = false, TimeSpan Delay = default)
    {
        public string? Code { get; init; }
        public string? Message { get; init; }
    }

    private Outcome Run(ActionDefinition action, Ec2Request request, string accessKeyId, string? sessionToken, string region, string requestId)
    {
        lock (state.Gate)
        {
            var now = state.Now;
            var account = state.AccountFor(accessKeyId);
            var regionState = state.Region(account, region);
            var faults = state.Config.Faults;
            var stats = state.Stats;
            stats.Call(regionState.Key, action.Name);
            var call = state.Calls.Begin("ec2", action.Name, account, region, accessKeyId, request.Values, now);
            var outcome = Decide(call, action, request, regionState, accessKeyId, sessionToken, region, requestId, now, faults, stats,
                out var stage, out var intercepted, out var created);
            state.Calls.Add(call with
            {
                Stage = stage, Status = outcome.Drop ? 0 : outcome.Status, ErrorCode = outcome.Code, ErrorMessage = outcome.Message,
                Dropped = outcome.Drop || outcome.Abort, Intercepted = intercepted, CreatedSnapshotIds = created,
            }, state.Options.CallLogCapacity);
            return outcome;
        }
    }

    private Outcome Decide(CallInfo call, ActionDefinition action, Ec2Request request, RegionState regionState, string accessKeyId,
        string? sessionToken, string region, string requestId, DateTimeOffset now, FaultConfig faults, StatsCollector stats,
        out CallStage stage, out bool intercepted, out IReadOnlyList<string> created)
    {
        stage = CallStage.BeforeAction;
        intercepted = false;
        created = [];
        var faultsApply = faults.Actions.Count == 0 || faults.Actions.Contains(action.Name, StringComparer.Ordinal);

        Outcome Failure(Ec2Error e)
        {
            stats.Error(action.Name, e.Code);
            if (e.Code == "RequestLimitExceeded") stats.Throttled(regionState.Key, action.Name);
            return new Outcome(e.Status, XmlOut.Error(e.Code, e.Message, requestId)) { Code = e.Code, Message = e.Message };
        }

        // Credentials first, as AWS checks them: a rejected call takes no bucket token and meets no injected fault.
        if (CredentialChecks.Ec2(state, accessKeyId, sessionToken, region, action.Name) is { } credentialFault)
            return Failure(Ec2Error.For(credentialFault));

        // The test's interceptor, then call-level faults, before anything happens.
        var interceptor = state.Options.Interceptor;
        if (interceptor?.Invoke(call) is { } before)
        {
            intercepted = true;
            stats.Fault("Intercepted");
            return before.DropConnection ? new Outcome(0, "", Drop: true) : Failure(ErrorOf(before));
        }
        if (faultsApply)
        {
            if (state.Chance(faults.DropBeforeActionRate)) { stats.Fault("DropBeforeAction"); return new Outcome(0, "", Drop: true); }
            if (state.Chance(faults.ThrottleRate)) { stats.Fault("Throttle"); return Failure(Ec2Error.RequestLimitExceeded()); }
            if (state.Chance(faults.InternalErrorRate)) { stats.Fault("InternalError"); return Failure(Ec2Error.InternalError()); }
            if (state.Chance(faults.UnavailableRate)) { stats.Fault("Unavailable"); return Failure(Ec2Error.Unavailable()); }
        }

        // API rate limits: one bucket per account, region and action (lazily refilled).
        var limits = state.Config.Limits;
        if (limits.RequestRateLimits)
        {
            var bucketName = action.BucketFor(request);
            var config = limits.Buckets.GetValueOrDefault(bucketName) ?? limits.DefaultBucket;
            if (!regionState.Buckets.TryGetValue(bucketName, out var bucket))
                regionState.Buckets[bucketName] = bucket = new TokenBucket();
            if (!bucket.TryTake(config, now)) return Failure(Ec2Error.RequestLimitExceeded());
        }

        Outcome outcome;
        var context = new ActionContext(state, request, call.Account, region, now);
        try
        {
            outcome = new Outcome(200, XmlOut.Success(action.Name, requestId, x => action.Handler(context, x)));
        }
        catch (Ec2Error e)
        {
            outcome = Failure(e);
        }
        stage = CallStage.AfterAction;
        created = context.CreatedSnapshotIds.ToList();

        // The interceptor again, then response-level faults: the action has run (the "lost response" when it succeeded).
        interceptor = state.Options.Interceptor;
        if (interceptor?.Invoke(call with
            {
                Stage = CallStage.AfterAction, Status = outcome.Status, ErrorCode = outcome.Code, ErrorMessage = outcome.Message,
                CreatedSnapshotIds = created,
            }) is { } after)
        {
            intercepted = true;
            stats.Fault("Intercepted");
            return after.DropConnection ? outcome with { Abort = true } : Failure(ErrorOf(after));
        }
        if (faultsApply)
        {
            var delay = TimeSpan.Zero;
            if (state.Chance(faults.SlowResponseRate))
            {
                stats.Fault("SlowResponse");
                delay = TimeSpan.FromSeconds(Math.Max(0, faults.SlowResponseSeconds));
            }
            if (state.Chance(faults.DropAfterActionRate))
            {
                stats.Fault("DropAfterAction");
                return outcome with { Abort = true, Delay = delay };
            }
            outcome = outcome with { Delay = delay };
        }
        return outcome;
    }

    private static Ec2Error ErrorOf(CallDecision decision)
    {
        if (string.IsNullOrEmpty(decision.ErrorCode) || decision.Status is < 400 or > 599)
            throw new InvalidOperationException("Interceptor: an error decision needs an error code and a 4xx/5xx status (or DropConnection).");
        return new Ec2Error(decision.Status, decision.ErrorCode, decision.Message);
    }
}
