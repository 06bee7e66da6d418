#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# The runbooks in samples/runbooks, run as the platforms run them: each script body in a hosted engine (a fresh runspace
# without a host, so any prompt fails), $ProgressPreference = 'SilentlyContinue', credentials only from the environment,
# Automation variables or a web identity token file, against the emulator. Copies take longer than a short time budget:
# the first run stops at its budget with copies pending, the second finishes them without copying anything twice.
# This file runs in its own pwsh (tests/Avtomat.Ec2.Pester.Tests), so it may set process environment variables.

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorTestSupport.ps1')
    $script:Samples = Join-Path $RepoRoot 'samples/runbooks'
    $script:AzureRunbook = Join-Path $Samples 'Copy-AvSnapshot.AzureAutomation.ps1'
    $script:SsmDocument = Join-Path $Samples 'Avtomat-CopySnapshots.yaml'
    # `Import-Module Avtomat.Ec2` by name, as on the platforms (where the module is installed or attached).
    $env:PSModulePath = (Split-Path -Parent (Split-Path -Parent $ManifestPath)) + [IO.Path]::PathSeparator + $env:PSModulePath
    foreach ($name in 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION',
        'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_ROLE_SESSION_NAME', 'AWS_ENDPOINT_URL', 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER') {
        [Environment]::SetEnvironmentVariable($name, $null)
    }
    # No shared credentials or config file of this machine's user.
    $script:NoFile = Join-Path ([IO.Path]::GetTempPath()) "avtomat-runbooks-none-$PID"
    $env:AWS_SHARED_CREDENTIALS_FILE = $NoFile
    $env:AWS_CONFIG_FILE = $NoFile

    # Runs a script body as a platform does: a new runspace with no host (PowerShell's default host, which cannot
    # prompt), progress silenced first, then the body with its parameters. $Functions become commands of that runspace
    # (what the platform provides, e.g. Get-AutomationVariable). Returns the streams and the wall time.
    $script:Waits = @{}
    # With $Listener, the test answers its HTTP requests (with $Answer) while the body runs.
    function script:Invoke-Hosted([string] $Script, [hashtable] $Parameters = @{}, [hashtable] $Functions = @{},
        [System.Net.HttpListener] $Listener, [scriptblock] $Answer) {
        $state = [initialsessionstate]::CreateDefault2()
        foreach ($function in $Functions.GetEnumerator()) {
            $state.Commands.Add([System.Management.Automation.Runspaces.SessionStateFunctionEntry]::new($function.Key, $function.Value))
        }
        $runspace = [runspacefactory]::CreateRunspace($state)
        $runspace.Open()
        $ps = [powershell]::Create()
        $ps.Runspace = $runspace
        try {
            $null = $ps.AddScript('$ProgressPreference = ''SilentlyContinue''').AddStatement().AddScript($Script)
            if ($Parameters.Count) { $null = $ps.AddParameters($Parameters) }
            $watch = [Diagnostics.Stopwatch]::StartNew()
            $output = $null
            $thrown = $null
            try {
                # Every run ends within a minute (more on a slow machine, see Set-RunbookTiming): one that hangs is stopped
                # (Ctrl+C) and reported, not waited for.
                $async = $ps.BeginInvoke()
                # A listener's wait for the next request outlives the run: the next run's first request completes it.
                $next = if ($Listener) { if (-not $Waits[$Listener]) { $Waits[$Listener] = $Listener.GetContextAsync() }; $Waits[$Listener] }
                while (-not $async.IsCompleted) {
                    if ($watch.Elapsed.TotalSeconds -gt $HangSeconds) { $ps.Stop(); throw "The script ran for more than $HangSeconds s: stopped. Information: $($ps.Streams.Information -join ' | ')" }
                    if (-not $next) { $null = $async.AsyncWaitHandle.WaitOne(50); continue }
                    if ($next.Wait(50)) {
                        $context = $next.Result
                        $next = $Waits[$Listener] = $Listener.GetContextAsync()
                        # An answer that fails still answers, so the body never waits for a response that never comes.
                        try { & $Answer $context } catch { $context.Response.StatusCode = 500; $context.Response.Close(); throw }
                    }
                }
                $output = $ps.EndInvoke($async)
            }
            catch { $thrown = $_.Exception }
            $watch.Stop()
            [pscustomobject]@{
                Output      = @($output)
                Information = @($ps.Streams.Information | ForEach-Object { "$($_.MessageData)" })
                Errors      = @($ps.Streams.Error)
                Warnings    = @($ps.Streams.Warning | ForEach-Object Message)
                Progress    = @($ps.Streams.Progress)
                Thrown      = $thrown
                Seconds     = $watch.Elapsed.TotalSeconds
            }
        }
        finally {
            $ps.Dispose()
            $runspace.Dispose()
        }
    }

    # Copies accepted by the emulator per source snapshot (to the given region), and their total.
    function script:Get-CopiesBySource([string[]] $Ids, [string] $Region) {
        $stats = Get-Stats
        $perSource = @{}
        foreach ($id in $Ids) { $perSource[$id] = [int]$stats.copiesPerSource."us-east-1/$id".$Region }
        $perSource
    }

    # The script of the document's aws:executeScript step, exactly as the YAML literal block holds it, and the
    # InputPayload mapping (key -> the '{{ Parameter }}' it takes).
    function script:Read-SsmStep([string] $Path) {
        $lines = Get-Content -LiteralPath $Path
        $step = @{ Payload = [ordered]@{} }
        for ($i = 0; $i -lt $lines.Count; $i++) {
            if ($lines[$i] -match '^(\s*)Runtime:\s*(.+)$') { $step.Runtime = $Matches[2].Trim() }
            if ($lines[$i] -match '^(\s*)InputPayload:\s*$') {
                $indent = $Matches[1].Length
                for ($j = $i + 1; $j -lt $lines.Count -and $lines[$j] -match "^\s{$($indent + 1),}(\w+):\s*'\{\{\s*(\w+)\s*\}\}'\s*$"; $j++) {
                    $step.Payload[$Matches[1]] = $Matches[2]
                }
            }
            if ($lines[$i] -match '^(\s*)Script:\s*\|-\s*$') {
                $indent = $Matches[1].Length
                $body = [Collections.Generic.List[string]]::new()
                $blockIndent = $null
                for ($j = $i + 1; $j -lt $lines.Count; $j++) {
                    $line = $lines[$j]
                    if ($line.Trim() -eq '') { $body.Add(''); continue }
                    $lead = $line.Length - $line.TrimStart().Length
                    if ($lead -le $indent) { break }
                    if ($null -eq $blockIndent) { $blockIndent = $lead }
                    $body.Add($line.Substring($blockIndent))
                }
                while ($body.Count -and $body[$body.Count - 1] -eq '') { $body.RemoveAt($body.Count - 1) }
                $step.Script = $body -join "`n"
            }
        }
        [pscustomobject]$step
    }

    # Get-EC2Snapshot as AWS.Tools.EC2 has it (-OwnerId, -Filter hashtables, -Region, -AccessKey/-SecretKey,
    # -EndpointUrl), over the older AWSSDK.EC2 build that tests/Avtomat.Ec2.ForeignSdk restores: AWS.Tools itself is not
    # available here. It loads into the default context beside the module's isolated SDK, as AWS.Tools would.
    $script:GetEc2Snapshot = @'
param([string[]] $OwnerId, [object[]] $Filter, [string] $Region, [string] $AccessKey, [string] $SecretKey, [string] $EndpointUrl)
$config = [Amazon.EC2.AmazonEC2Config]::new()
if ($EndpointUrl) { $config.ServiceURL = $EndpointUrl; $config.AuthenticationRegion = $Region }
else { $config.RegionEndpoint = [Amazon.RegionEndpoint]::GetBySystemName($Region) }
$client = if ($AccessKey) { [Amazon.EC2.AmazonEC2Client]::new([Amazon.Runtime.BasicAWSCredentials]::new($AccessKey, $SecretKey), $config) }
          else { [Amazon.EC2.AmazonEC2Client]::new($config) }
$request = [Amazon.EC2.Model.DescribeSnapshotsRequest]::new()
$request.OwnerIds = [Collections.Generic.List[string]]::new([string[]]$OwnerId)
$request.Filters = [Collections.Generic.List[Amazon.EC2.Model.Filter]]::new()
foreach ($f in $Filter) { $request.Filters.Add([Amazon.EC2.Model.Filter]::new($f.Name, [Collections.Generic.List[string]]::new([string[]]$f.Values))) }
try { $client.DescribeSnapshotsAsync($request).GetAwaiter().GetResult().Snapshots } finally { $client.Dispose() }
'@
    $foreign = Join-Path $RepoRoot 'artifacts/foreign-sdk'
    Add-Type -Path (Join-Path $foreign 'AWSSDK.Core.dll')
    Add-Type -Path (Join-Path $foreign 'AWSSDK.EC2.dll')

    # The first run of each test must stop at its budget with every copy started and none finished, so its budget must
    # hold what comes before the copies (a new runspace, Import-Module, credentials, the first calls) and the copies must
    # outlast it. That start takes about a second on a quiet machine and many times that on a busy one (other builds and
    # test runs on the same 2 cores), so it is timed before each test, as the same kind of work in the same kind of
    # runspace, and the times scale with it: the first budget four times that start, at least 4 s (the copies 2 s
    # longer), the time allowed past a budget for stopping and the summary twice that start, at least 3 s, the second
    # run's budget three first budgets, at least 30 s. On a quiet machine these are 4, 6, 3 and 30 s; what is asserted
    # does not change.
    $script:HangSeconds = 60
    function script:Set-RunbookTiming {
        # The probe: a new runspace, Import-Module by name, Get-EC2Snapshot over the other AWSSDK build (the tag filter's
        # lookup), credentials and region resolved, the account learned (STS) and one DescribeSnapshots (Wait-AvSnapshot
        # on a completed snapshot): the work a runbook does before its first copy.
        Reset-Emulator
        $probeId = (New-Snapshot 1)[0]
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $probe = Invoke-Hosted -Functions @{ 'Get-EC2Snapshot' = $GetEc2Snapshot } -Parameters @{ Id = $probeId; Url = $Url } -Script @'
param($Id, $Url)
Import-Module Avtomat.Ec2
$null = Get-EC2Snapshot -OwnerId self -Filter @{ Name = 'tag:Backup'; Values = 'daily' } -Region us-east-1 -AccessKey AKIDPROBE -SecretKey probe-secret -EndpointUrl $Url
Wait-AvSnapshot -SnapshotId $Id -Region us-east-1 -EndpointUrl $Url -AccessKey AKIDPROBE -SecretKey probe-secret
'@
        $setup = $clock.Elapsed.TotalSeconds
        if ($probe.Thrown -or $probe.Errors -or "$($probe.Output[0].State)" -ne 'Completed') {
            throw "Timing the runbook's start failed: $($probe.Thrown) $($probe.Errors -join '; ') $($probe.Output)"
        }
        $script:FirstBudgetSeconds = [Math]::Max(4, [Math]::Ceiling(4 * $setup))
        $script:CopySeconds = $FirstBudgetSeconds + 2
        $script:StopSlackSeconds = [Math]::Max(3, [Math]::Ceiling(2 * $setup))
        $script:SecondBudgetSeconds = [Math]::Max(30, 3 * $FirstBudgetSeconds)
        $script:HangSeconds = [Math]::Max(60, 2 * $SecondBudgetSeconds)
        Write-Host ("runbook timing: start {0:N1} s; first budget {1} s, copies {2} s, stop slack {3} s, second budget {4} s" -f
            $setup, $FirstBudgetSeconds, $CopySeconds, $StopSlackSeconds, $SecondBudgetSeconds)
        Reset-Emulator -CopySeconds $CopySeconds
    }
    # Once first, so the first test's probe (and runbook) do not pay for this process's first calls through either SDK.
    Set-RunbookTiming
}

AfterAll {
    Stop-AvTestEmulator
    foreach ($name in 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE') {
        [Environment]::SetEnvironmentVariable($name, $null)
    }
}

Describe 'The hosted engine the runbooks run in' {
    It 'has no host that can prompt, and progress is silenced' {
        $run = Invoke-Hosted -Script 'Read-Host "Continue?"; Get-Credential; "after"'
        $run.Errors | Should -HaveCount 2
        $run.Errors[0].Exception.Message | Should -BeLike '*prompts the user failed because the host*does not support user interaction*'
        # The runbooks set $ErrorActionPreference = 'Stop', so there a prompt ends the run.
        $stop = Invoke-Hosted -Script '$ErrorActionPreference = ''Stop''; Read-Host "Continue?"; "after"'
        $stop.Output | Should -BeNullOrEmpty
        @($stop.Errors) + @($stop.Thrown | Where-Object { $_ }) | Should -Not -BeNullOrEmpty
        (Invoke-Hosted -Script '$ProgressPreference').Output | Should -Be 'SilentlyContinue'
    }
}

Describe 'Azure Automation runbook (samples/runbooks/Copy-AvSnapshot.AzureAutomation.ps1)' {
    BeforeAll {
        $script:Runbook = Get-Content -LiteralPath $AzureRunbook -Raw
    }
    BeforeEach {
        Set-RunbookTiming
    }

    It 'with keys from Automation variables and a tag filter: stops at its budget with copies pending, the next run finishes them without duplicates' {
        $ids = New-Snapshot 3 -Tags @{ Backup = 'daily' }
        $null = New-Snapshot 2 -Tags @{ Backup = 'never' }
        $functions = @{
            # What Azure Automation provides inside a job; here it reads a table the test fills.
            'Get-AutomationVariable' = "param([Parameter(Mandatory)][string] `$Name) `$table = @{ AwsAccessKeyId = 'AKIDRUNBOOK'; AwsSecretAccessKey = '$SecretKey' }; `$table[`$Name]"
            'Get-EC2Snapshot'        = $GetEc2Snapshot
        }
        $parameters = @{ SourceRegion = 'us-east-1'; DestinationRegion = 'us-west-2'; TagFilter = 'Backup=daily,weekly'
            CredentialSource = 'AutomationVariables'; EndpointUrl = $Url }

        $first = Invoke-Hosted -Script $Runbook -Functions $functions -Parameters ($parameters + @{ TimeBudgetMinutes = $FirstBudgetSeconds / 60 })
        $first.Thrown | Should -BeNullOrEmpty
        $first.Errors | Should -BeNullOrEmpty
        $first.Seconds | Should -BeLessThan ($FirstBudgetSeconds + $StopSlackSeconds)
        $first.Progress | Should -BeNullOrEmpty
        $first.Output | Should -HaveCount 1
        $summary = $first.Output[0]
        $summary.PSObject.TypeNames | Should -Contain 'Avtomat.Ec2.RunbookSummary'
        $summary.Requested | Should -Be 3
        $summary.Pending | Should -Be 3
        $summary.Failed | Should -Be 0
        $summary.Complete | Should -BeFalse
        @($summary.Results | Where-Object { $_.Outcome -eq 'pending' -and $_.SnapshotId -like 'snap-*' }) | Should -HaveCount 3
        $first.Information[-1] | Should -BeLike '*0 copied, 0 reused, 3 pending, 0 failed of 3 *next run*'
        ($first.Information + $first.Warnings) -join "`n" | Should -Not -Match ([regex]::Escape($SecretKey))

        $second = Invoke-Hosted -Script $Runbook -Functions $functions -Parameters ($parameters + @{ TimeBudgetMinutes = $SecondBudgetSeconds / 60 })
        $second.Thrown | Should -BeNullOrEmpty
        $second.Errors | Should -BeNullOrEmpty
        $done = $second.Output[0]
        $done.Complete | Should -BeTrue
        $done.Pending | Should -Be 0
        ($done.Copied + $done.Reused) | Should -Be 3
        $done.Reused | Should -Be 3
        @($done.Results.SnapshotId | Sort-Object) | Should -Be @($summary.Results.SnapshotId | Sort-Object)
        $second.Information[-1] | Should -BeLike '*0 copied, 3 reused, 0 pending, 0 failed of 3 *'

        $copies = Get-CopiesBySource -Ids $ids -Region 'us-west-2'
        $copies.Values | ForEach-Object { $_ | Should -Be 1 }
        Get-CopyCount -Region 'us-west-2' | Should -Be 3
    }

    It 'with its managed identity exchanged for an AWS role (web identity): stops at its budget, the next run finishes without duplicates' {
        $roleAccount = '210987654321'
        $roleArn = "arn:aws:iam::$($roleAccount):role/avtomat-snapshot-copy"
        $ids = [string[]]@((Invoke-Emulator seed POST @{ region = 'us-east-1'; snapshots = 2; accountId = $roleAccount }).snapshotIds)
        $audience = 'api://avtomat-runbook-test'
        $identityHeader = 'identity-header-do-not-print'
        # The Entra ID token the identity endpoint hands out (unsigned here; the emulator reads its claims only).
        $encode = { param($json) [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($json)).TrimEnd('=').Replace('+', '-').Replace('/', '_') }
        $token = '{0}.{1}.{2}' -f (& $encode '{"alg":"RS256","typ":"JWT"}'),
            (& $encode ('{"aud":"' + $audience + '","iss":"https://sts.windows.net/00000000-0000-0000-0000-000000000000/","sub":"automation-account-identity"}')),
            'c2lnbmF0dXJlLWRvLW5vdC1wcmludA'

        # Azure Automation's identity endpoint: IDENTITY_ENDPOINT and IDENTITY_HEADER in the job's environment.
        $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $probe.Start(); $port = $probe.LocalEndpoint.Port; $probe.Stop()
        $listener = [System.Net.HttpListener]::new()
        $listener.Prefixes.Add("http://127.0.0.1:$port/msi/token/")
        $listener.Start()
        $requests = [Collections.Generic.List[object]]::new()
        $answer = {
            param($context)
            $request = $context.Request
            $requests.Add([pscustomobject]@{ Resource = $request.QueryString['resource']; ApiVersion = $request.QueryString['api-version']
                HeaderOk = $request.Headers['X-IDENTITY-HEADER'] -eq $identityHeader; Metadata = $request.Headers['Metadata'] })
            $ok = $request.Headers['X-IDENTITY-HEADER'] -eq $identityHeader -and $request.QueryString['resource'] -eq $audience
            $body = if ($ok) { @{ access_token = $token; expires_on = [DateTimeOffset]::UtcNow.AddHours(24).ToUnixTimeSeconds(); resource = $audience; token_type = 'Bearer' } | ConvertTo-Json }
                    else { '{"error":"invalid_request"}' }
            $bytes = [Text.Encoding]::UTF8.GetBytes($body)
            $context.Response.StatusCode = if ($ok) { 200 } else { 400 }
            $context.Response.ContentType = 'application/json'
            $context.Response.OutputStream.Write($bytes, 0, $bytes.Length)
            $context.Response.Close()
        }
        try {
            $env:IDENTITY_ENDPOINT = "http://127.0.0.1:$port/msi/token"
            $env:IDENTITY_HEADER = $identityHeader
            # The SDK's STS client (AssumeRoleWithWebIdentity) goes to the emulator too.
            $env:AWS_ENDPOINT_URL_STS = $Url
            $parameters = @{ SourceRegion = 'us-east-1'; DestinationRegion = 'us-west-2'; SnapshotId = $ids -join ','
                CredentialSource = 'ManagedIdentity'; RoleArn = $roleArn; Audience = $audience; EndpointUrl = $Url }

            $first = Invoke-Hosted -Script $Runbook -Parameters ($parameters + @{ TimeBudgetMinutes = $FirstBudgetSeconds / 60 }) -Listener $listener -Answer $answer
            $first.Thrown | Should -BeNullOrEmpty
            $first.Errors | Should -BeNullOrEmpty
            $first.Seconds | Should -BeLessThan ($FirstBudgetSeconds + $StopSlackSeconds)
            $first.Output[0].Pending | Should -Be 2
            @($first.Output[0].Results | Where-Object { $_.Outcome -eq 'pending' -and $_.SnapshotId -like 'snap-*' }) | Should -HaveCount 2
            $first.Information[-1] | Should -BeLike '*0 copied, 0 reused, 2 pending, 0 failed of 2 *'

            $second = Invoke-Hosted -Script $Runbook -Parameters ($parameters + @{ TimeBudgetMinutes = $SecondBudgetSeconds / 60 }) -Listener $listener -Answer $answer
            $second.Thrown | Should -BeNullOrEmpty
            $second.Errors | Should -BeNullOrEmpty
            $second.Output[0].Complete | Should -BeTrue
            $second.Output[0].Reused | Should -Be 2
        }
        finally {
            $listener.Stop()
            $listener.Close()
            foreach ($name in 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'AWS_ENDPOINT_URL_STS') { [Environment]::SetEnvironmentVariable($name, $null) }
        }

        # One token per run, asked for the audience with the identity header, as Azure Automation's endpoint wants it.
        $requests | Should -HaveCount 2
        $requests | ForEach-Object { $_.HeaderOk | Should -BeTrue; $_.Resource | Should -Be $audience; $_.ApiVersion | Should -Be '2019-08-01' }
        # The role was assumed with the token, and the copies were made in the role's account, once per source. (The
        # second run in this process may reuse the first run's unexpired role credentials; each Azure job is a process.)
        $stats = Get-Stats
        $stats.calls."$roleAccount/us-east-1".'sts:AssumeRoleWithWebIdentity' | Should -BeGreaterOrEqual 1
        $stats.calls."$roleAccount/us-west-2".CopySnapshot | Should -Be 2
        (Get-CopiesBySource -Ids $ids -Region 'us-west-2').Values | ForEach-Object { $_ | Should -Be 1 }
        # The runbook leaves nothing behind: no web identity variables, no token file; and it printed no secret.
        $env:AWS_WEB_IDENTITY_TOKEN_FILE | Should -BeNullOrEmpty
        $env:AWS_ROLE_ARN | Should -BeNullOrEmpty
        Get-ChildItem -Path ([IO.Path]::GetTempPath()) -Filter 'avtomat-web-identity-*' | Should -BeNullOrEmpty
        $printed = ($first, $second | ForEach-Object { $_.Information + $_.Warnings + @($_.Errors | ForEach-Object { "$_" }) }) -join "`n"
        $printed | Should -Not -Match ([regex]::Escape($identityHeader))
        $printed | Should -Not -Match ([regex]::Escape($token.Split('.')[1]))
    }
}

Describe 'SSM Automation document (samples/runbooks/Avtomat-CopySnapshots.yaml)' {
    BeforeAll {
        $script:Step = Read-SsmStep $SsmDocument
    }
    BeforeEach {
        Set-RunbookTiming
    }
    AfterEach {
        foreach ($name in 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'InputPayload') { [Environment]::SetEnvironmentVariable($name, $null) }
    }

    It 'has a PowerShell 7.4 aws:executeScript step that takes every parameter it reads from InputPayload' {
        $Step.Runtime | Should -Be 'PowerShell 7.4'
        $Step.Script | Should -Match '\$env:InputPayload \| ConvertFrom-Json'
        $read = [regex]::Matches($Step.Script, '\$in\.(\w+)') | ForEach-Object { $_.Groups[1].Value } | Sort-Object -Unique
        $read | ForEach-Object { $Step.Payload.Keys | Should -Contain $_ }
    }

    It 'with the role''s credentials in the environment: stops at its budget with copies pending, the next step finishes them without duplicates' {
        $ids = New-Snapshot 3
        # What the runtime gives the script: the automation role's credentials in the environment, the payload as JSON.
        $env:AWS_ACCESS_KEY_ID = 'AKIDSSMROLE'
        $env:AWS_SECRET_ACCESS_KEY = $SecretKey
        # The emulator's URL through the document's EndpointUrl parameter: AWS_ENDPOINT_URL would send every region's
        # calls to one URL signed for the region the SDK guesses from its host (us-east-1 for 127.0.0.1).
        $parameters = @{ SourceRegion = 'us-east-1'; DestinationRegions = @('us-west-2'); TagFilter = ''; SnapshotIds = $ids
            KmsKeyId = ''; ModuleVersion = ''; EndpointUrl = $Url }
        $payload = { param($budget) $p = [ordered]@{}; foreach ($key in $Step.Payload.Keys) { $p[$key] = ($parameters + @{ TimeBudgetSeconds = $budget })[$Step.Payload[$key]] }; $p | ConvertTo-Json -Compress }

        $env:InputPayload = & $payload $FirstBudgetSeconds
        $first = Invoke-Hosted -Script $Step.Script
        $first.Thrown | Should -BeNullOrEmpty
        $first.Errors | Should -BeNullOrEmpty
        $first.Seconds | Should -BeLessThan ($FirstBudgetSeconds + $StopSlackSeconds)
        $first.Output | Should -HaveCount 1
        $first.Output[0].Pending | Should -Be 3
        $first.Output[0].Failed | Should -Be 0
        @($first.Output[0].Results | Where-Object { $_.Outcome -eq 'pending' -and $_.SnapshotId -like 'snap-*' }) | Should -HaveCount 3
        $first.Information[-1] | Should -BeLike '*0 copied, 0 reused, 3 pending, 0 failed of 3 *next step*'
        # What SSM makes of it: the returned object as JSON, read with the document's selectors ($.Payload.Pending).
        ($first.Output[0] | ConvertTo-Json -Depth 5 | ConvertFrom-Json).Pending | Should -Be 3

        $env:InputPayload = & $payload $SecondBudgetSeconds
        $second = Invoke-Hosted -Script $Step.Script
        $second.Thrown | Should -BeNullOrEmpty
        $second.Errors | Should -BeNullOrEmpty
        $second.Output[0].Pending | Should -Be 0
        $second.Output[0].Reused | Should -Be 3
        $second.Output[0].Copied | Should -Be 0

        (Get-CopiesBySource -Ids $ids -Region 'us-west-2').Values | ForEach-Object { $_ | Should -Be 1 }
        Get-CopyCount -Region 'us-west-2' | Should -Be 3
    }
}
