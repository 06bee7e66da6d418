# -Invocations Copy-AvSnapshot calls in ONE pwsh process, -PerInvocation sources each (waited), against an emulator at
# -Endpoint; run by the probe harness (tests/Avtomat.Ec2.Probes). After each invocation it reads the engine's
# SnapshotEngine.Shared.AccountRegionsInUse (the engine lives in the module's own AssemblyLoadContext: found by
# reflection); every -SampleEvery invocations also the managed heap after a full GC, and System.Threading timers.
param(
    [Parameter(Mandatory)] [string] $Endpoint,
    [Parameter(Mandatory)] [string] $IdsFile,
    [Parameter(Mandatory)] [string] $ResultFile,
    [int] $Invocations = 120,
    [int] $PerInvocation = 3,
    [int] $SampleEvery = 20,
    [string] $SourceRegion = 'us-east-1',
    [string] $Region = 'us-west-2'
)
$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$env:AWS_EC2_METADATA_DISABLED = 'true'
$root = (Resolve-Path (Join-Path $PSScriptRoot '../../..')).Path
Import-Module (Join-Path $root 'artifacts/module/Avtomat.Ec2/Avtomat.Ec2.psd1') -ErrorAction Stop
$ids = @(Get-Content -LiteralPath $IdsFile | Where-Object { $_ })
if ($ids.Count -lt $Invocations * $PerInvocation) { throw "Need $($Invocations * $PerInvocation) ids, got $($ids.Count)." }
$aws = @{ EndpointUrl = $Endpoint; AccessKey = 'AKIDPROBE'; SecretKey = 'probe-secret' }

function Get-EngineType {
    $assembly = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Avtomat.Ec2.Engine' } | Select-Object -First 1
    if (-not $assembly) { return $null }
    $assembly.GetType('Avtomat.Ec2.Engine.SnapshotEngine', $true)
}
function Get-EngineState {
    $type = Get-EngineType
    $flags = [System.Reflection.BindingFlags]'Public,NonPublic,Instance,Static'
    $engine = $type.GetProperty('Shared', $flags).GetValue($null)
    $registry = $type.GetProperty('Registry', $flags).GetValue($engine)
    [pscustomobject]@{
        AccountRegionsInUse = $type.GetProperty('AccountRegionsInUse').GetValue($engine)
        Refilling = $registry.GetType().GetProperty('Refilling', $flags).GetValue($registry)
        LoadContext = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($type.Assembly).GetType().FullName
    }
}
function Get-Heap {
    [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
    [GC]::GetTotalMemory($true)
}

$samples = [System.Collections.Generic.List[object]]::new()
$states = @{}
$start = [DateTime]::UtcNow
$heap0 = Get-Heap
$samples.Add([pscustomobject]@{ Invocation = 0; AccountRegionsInUse = $null; HeapBytes = $heap0; TimerActiveCount = [System.Threading.Timer]::ActiveCount; Seconds = 0 })
for ($i = 1; $i -le $Invocations; $i++) {
    $batch = $ids[(($i - 1) * $PerInvocation)..($i * $PerInvocation - 1)]
    $out = Copy-AvSnapshot -SnapshotId $batch -SourceRegion $SourceRegion -Region $Region @aws
    foreach ($r in $out) { $states["$($r.State)"] = 1 + [int]$states["$($r.State)"] }
    $engine = Get-EngineState
    $sample = [pscustomobject]@{ Invocation = $i; AccountRegionsInUse = $engine.AccountRegionsInUse; Refilling = $engine.Refilling
        HeapBytes = $null; TimerActiveCount = $null; Seconds = ([DateTime]::UtcNow - $start).TotalSeconds; LoadContext = $engine.LoadContext }
    if ($i % $SampleEvery -eq 0 -or $i -eq 1) {
        $sample.HeapBytes = Get-Heap
        $sample.TimerActiveCount = [System.Threading.Timer]::ActiveCount
        Write-Host ("after {0,3}: AccountRegionsInUse {1}, heap {2:N0} bytes, timers {3}, {4:0} s" -f $i, $sample.AccountRegionsInUse, $sample.HeapBytes, $sample.TimerActiveCount, $sample.Seconds)
    }
    $samples.Add($sample)
}
# Once more after the engine's 20 s grace timers (one per finished invocation) have fired.
Start-Sleep -Seconds 25
$late = Get-EngineState
$samples.Add([pscustomobject]@{ Invocation = 'end+25s'; AccountRegionsInUse = $late.AccountRegionsInUse; Refilling = $late.Refilling
    HeapBytes = (Get-Heap); TimerActiveCount = [System.Threading.Timer]::ActiveCount; Seconds = ([DateTime]::UtcNow - $start).TotalSeconds })
[pscustomobject]@{ Samples = $samples; States = $states; Seconds = ([DateTime]::UtcNow - $start).TotalSeconds } |
    ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $ResultFile -Encoding utf8
