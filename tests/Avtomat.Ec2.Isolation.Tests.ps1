# Another AWSSDK build in the same session, in every load order: the engine's AWSSDK copy lives in the module's own
# load context (PowerShell 7), so an older AWSSDK.Core/AWSSDK.EC2 pair (artifacts/foreign-sdk, restored by
# tests/Avtomat.Ec2.ForeignSdk; the same AssemblyVersion 4.0.0.0, other file versions, as AWS.Tools ships) loads before
# or after Avtomat.Ec2 and both work. Each scenario is one fresh pwsh process, because a load order is per process.

BeforeDiscovery {
    $script:IsCore = $PSVersionTable.PSEdition -eq 'Core'
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorTestSupport.ps1')
    $script:ForeignDir = Join-Path $RepoRoot 'artifacts/foreign-sdk'
    $script:ModuleDir = Split-Path -Parent $ManifestPath

    # Runs $Body in a new pwsh with the emulator's URL and the paths it needs; returns the JSON object the body writes
    # last (and throws with the process's whole output when it fails).
    function script:Invoke-FreshSession([string] $Body, [hashtable] $Values = @{}) {
        $prelude = @'
param([string] $ValuesJson)
$ErrorActionPreference = 'Stop'
$env:AWS_EC2_METADATA_DISABLED = 'true'
# The context region (where Get-EC2Snapshot's objects, which carry none, come from).
$env:AWS_REGION = 'us-east-1'
$v = $ValuesJson | ConvertFrom-Json
function Use-ForeignSdk {
    Add-Type -Path (Join-Path $v.ForeignDir 'AWSSDK.Core.dll')
    Add-Type -Path (Join-Path $v.ForeignDir 'AWSSDK.EC2.dll')
}
function New-ForeignClient([string] $AccessKey = 'AKIDFOREIGN') {
    $config = [Amazon.EC2.AmazonEC2Config]::new()
    $config.ServiceURL = $v.Url
    $config.AuthenticationRegion = 'us-east-1'
    [Amazon.EC2.AmazonEC2Client]::new([Amazon.Runtime.BasicAWSCredentials]::new($AccessKey, 'foreign-secret'), $config)
}
function Get-ForeignSnapshot([string] $Id) {
    $request = [Amazon.EC2.Model.DescribeSnapshotsRequest]::new()
    $request.SnapshotIds = [System.Collections.Generic.List[string]]::new([string[]] @($Id))
    (New-ForeignClient).DescribeSnapshotsAsync($request).GetAwaiter().GetResult().Snapshots
}
function Get-SdkFileVersions {
    # Every AWSSDK.EC2 the process holds, with its load context: the foreign one in Default, ours in the module's.
    [System.Runtime.Loader.AssemblyLoadContext]::All | ForEach-Object {
        $context = $_
        $context.Assemblies | Where-Object { $_.GetName().Name -eq 'AWSSDK.EC2' } | ForEach-Object {
            '{0}={1}' -f $context.GetType().Name, [System.Diagnostics.FileVersionInfo]::GetVersionInfo($_.Location).FileVersion
        }
    }
}
'@
        $Values.Url = $Url
        $Values.ForeignDir = $ForeignDir
        $Values.ManifestPath = $ManifestPath
        $file = Join-Path ([System.IO.Path]::GetTempPath()) ("avtomat-isolation-{0}.ps1" -f [guid]::NewGuid().ToString('n'))
        Set-Content -LiteralPath $file -Value ($prelude + "`n" + $Body) -Encoding utf8
        try {
            $json = ($Values | ConvertTo-Json -Compress -Depth 5)
            # The same PowerShell as this one: a pwsh executable, or (the dotnet tool) dotnet running pwsh.dll.
            $pwsh = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
            $entry = @()
            if ([System.IO.Path]::GetFileNameWithoutExtension($pwsh) -eq 'dotnet') { $entry = @([System.Reflection.Assembly]::GetEntryAssembly().Location) }
            $output = & $pwsh @entry -NoProfile -NonInteractive -File $file -ValuesJson $json 2>&1 | ForEach-Object { "$_" }
            if ($LASTEXITCODE -ne 0) { throw "The session failed (exit $LASTEXITCODE):`n$($output -join "`n")" }
            $last = @($output | Where-Object { $_ -like '{*' })[-1]
            if (-not $last) { throw "The session wrote no result:`n$($output -join "`n")" }
            $last | ConvertFrom-Json
        }
        finally {
            Remove-Item -LiteralPath $file -ErrorAction SilentlyContinue
        }
    }

    $script:CopyLine = @'
function Copy-WithStoredForeignCredentials([string] $Id) {
    # $StoredAWSCredentials holds a credentials object of the OTHER AWSSDK load: honoured (read by shape), since no
    # other credentials are given and the default chain has none.
    $global:StoredAWSCredentials = [Amazon.Runtime.BasicAWSCredentials]::new('AKIDSTOREDFOREIGN', 'stored-foreign-secret')
    $global:StoredAWSRegion = 'us-east-1'
    $verbose = $null
    $copy = Copy-AvSnapshot -SourceSnapshotId $Id -SourceRegion us-east-1 -DestinationRegion us-west-2 -EndpointUrl $v.Url -Verbose 4>&1 |
        Tee-Object -Variable all | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
    $credentialLine = @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like 'Using credentials from*' })[0].Message
    [pscustomobject]@{ State = "$($copy.State)"; CopyId = $copy.SnapshotId; CredentialLine = $credentialLine }
}
'@
}

AfterAll {
    Stop-AvTestEmulator
}

Describe 'Another AWSSDK build in the same session' -Skip:(-not $IsCore) {
    BeforeEach {
        Reset-Emulator
    }

    It 'has an older AWSSDK pair to load (other file versions, same assembly version)' {
        $theirs = [System.Diagnostics.FileVersionInfo]::GetVersionInfo((Join-Path $ForeignDir 'AWSSDK.EC2.dll')).FileVersion
        $ours = [System.Diagnostics.FileVersionInfo]::GetVersionInfo((Join-Path $ModuleDir 'Dependencies/AWSSDK.EC2.dll')).FileVersion
        $theirs | Should -Not -BeNullOrEmpty
        $theirs | Should -Not -Be $ours
        [System.Reflection.AssemblyName]::GetAssemblyName((Join-Path $ForeignDir 'AWSSDK.Core.dll')).Version |
            Should -Be ([System.Reflection.AssemblyName]::GetAssemblyName((Join-Path $ModuleDir 'Dependencies/AWSSDK.Core.dll')).Version)
    }

    It 'works when the other pair is loaded first: its client calls EC2, our cmdlets copy, its credentials are honoured' {
        $ids = New-Snapshot -Count 2
        $result = Invoke-FreshSession -Values @{ Ids = $ids } -Body (@'
Use-ForeignSdk
$before = @(Get-ForeignSnapshot $v.Ids[0]).Count
Import-Module -Name $v.ManifestPath
'@ + "`n" + $CopyLine + "`n" + @'
$stored = Copy-WithStoredForeignCredentials $v.Ids[0]
# Objects of the other load flow down the pipeline too (what Get-EC2Snapshot | Copy-AvSnapshot does).
$piped = Get-ForeignSnapshot $v.Ids[1] | Copy-AvSnapshot -DestinationRegion us-west-2 -EndpointUrl $v.Url -AccessKey AKIDPIPE -SecretKey pipe-secret
$after = @(Get-ForeignSnapshot $v.Ids[0]).Count
[pscustomobject]@{
    Before = $before; After = $after; Stored = $stored; PipedState = "$($piped.State)"; PipedSource = $piped.SourceSnapshotId
    EngineLoad = [Avtomat.Ec2.Loader.ModuleDependencies]::EngineLoad; Sdks = @(Get-SdkFileVersions)
} | ConvertTo-Json -Compress -Depth 5
'@)
        $result.Before | Should -Be 1
        $result.After | Should -Be 1
        $result.Stored.State | Should -Be 'Completed'
        $result.Stored.CredentialLine | Should -BeLike 'Using credentials from $StoredAWSCredentials*'
        $result.PipedState | Should -Be 'Completed'
        $result.PipedSource | Should -Be $ids[1]
        $result.EngineLoad | Should -Be 'isolated'
        # Two AWSSDK.EC2 builds side by side: theirs in the default context, ours in the module's.
        $result.Sdks | Should -HaveCount 2
        ($result.Sdks -join ' ') | Should -Match 'DefaultAssemblyLoadContext=4\.0\.129'
        ($result.Sdks -join ' ') | Should -Match 'ModuleLoadContext=4\.0\.132'
        Get-CopyCount -Region 'us-west-2' | Should -Be 2
    }

    It 'works when Avtomat.Ec2 is imported and used first, then the other pair loads' {
        $ids = New-Snapshot -Count 2
        $result = Invoke-FreshSession -Values @{ Ids = $ids } -Body (@'
Import-Module -Name $v.ManifestPath
$first = Copy-AvSnapshot -SourceSnapshotId $v.Ids[0] -SourceRegion us-east-1 -DestinationRegion us-west-2 -EndpointUrl $v.Url -AccessKey AKIDFIRST -SecretKey first-secret
# The failure this guards against: "Assembly with same name is already loaded".
Use-ForeignSdk
$seen = @(Get-ForeignSnapshot $v.Ids[1]).Count
'@ + "`n" + $CopyLine + "`n" + @'
$stored = Copy-WithStoredForeignCredentials $v.Ids[1]
[pscustomobject]@{
    First = "$($first.State)"; Seen = $seen; Stored = $stored
    EngineLoad = [Avtomat.Ec2.Loader.ModuleDependencies]::EngineLoad; Sdks = @(Get-SdkFileVersions)
} | ConvertTo-Json -Compress -Depth 5
'@)
        $result.First | Should -Be 'Completed'
        $result.Seen | Should -Be 1
        $result.Stored.State | Should -Be 'Completed'
        $result.Stored.CredentialLine | Should -BeLike 'Using credentials from $StoredAWSCredentials*'
        $result.EngineLoad | Should -Be 'isolated'
        ($result.Sdks -join ' ') | Should -Match 'DefaultAssemblyLoadContext=4\.0\.129'
        ($result.Sdks -join ' ') | Should -Match 'ModuleLoadContext=4\.0\.132'
    }

    It 'works by autoloading: Copy-AvSnapshot first, then a command of a module that ships the other pair' {
        $ids = New-Snapshot -Count 2
        # A stand-in for AWS.Tools.EC2: a module whose manifest loads the other AWSSDK pair (RequiredAssemblies) and
        # whose command uses it.
        $modules = Join-Path ([System.IO.Path]::GetTempPath()) ("avtomat-modules-{0}" -f [guid]::NewGuid().ToString('n'))
        $foreign = New-Item -ItemType Directory -Path (Join-Path $modules 'Foreign.Ec2')
        Copy-Item -Path (Join-Path $ForeignDir '*.dll') -Destination $foreign
        Set-Content -LiteralPath (Join-Path $foreign 'Foreign.Ec2.psm1') -Encoding utf8 -Value @'
function Get-ForeignEc2Snapshot([string] $Id, [string] $EndpointUrl) {
    $config = [Amazon.EC2.AmazonEC2Config]::new()
    $config.ServiceURL = $EndpointUrl
    $config.AuthenticationRegion = 'us-east-1'
    $client = [Amazon.EC2.AmazonEC2Client]::new([Amazon.Runtime.BasicAWSCredentials]::new('AKIDAUTO', 'auto-secret'), $config)
    $request = [Amazon.EC2.Model.DescribeSnapshotsRequest]::new()
    $request.SnapshotIds = [System.Collections.Generic.List[string]]::new([string[]] @($Id))
    $client.DescribeSnapshotsAsync($request).GetAwaiter().GetResult().Snapshots
}
'@
        New-ModuleManifest -Path (Join-Path $foreign 'Foreign.Ec2.psd1') -RootModule 'Foreign.Ec2.psm1' `
            -RequiredAssemblies 'AWSSDK.Core.dll', 'AWSSDK.EC2.dll' -FunctionsToExport 'Get-ForeignEc2Snapshot'
        try {
            $result = Invoke-FreshSession -Values @{ Ids = $ids; ModulePath = "$ModuleDir/..$([System.IO.Path]::PathSeparator)$modules" } -Body @'
$env:PSModulePath = $v.ModulePath + [System.IO.Path]::PathSeparator + $env:PSModulePath
# No Import-Module: both modules load because their commands are called.
$first = Copy-AvSnapshot -SourceSnapshotId $v.Ids[0] -SourceRegion us-east-1 -DestinationRegion us-west-2 -EndpointUrl $v.Url -AccessKey AKIDAUTO1 -SecretKey auto-secret
$snapshot = Get-ForeignEc2Snapshot -Id $v.Ids[1] -EndpointUrl $v.Url
$second = $snapshot | Copy-AvSnapshot -DestinationRegion us-west-2 -EndpointUrl $v.Url -AccessKey AKIDAUTO2 -SecretKey auto-secret
[pscustomobject]@{
    First = "$($first.State)"; SnapshotType = $snapshot.GetType().FullName; Second = "$($second.State)"
    Modules = @(Get-Module | ForEach-Object Name); Sdks = @(Get-SdkFileVersions)
} | ConvertTo-Json -Compress -Depth 5
'@
        }
        finally {
            Remove-Item -LiteralPath $modules -Recurse -Force -ErrorAction SilentlyContinue
        }
        $result.First | Should -Be 'Completed'
        $result.SnapshotType | Should -Be 'Amazon.EC2.Model.Snapshot'
        $result.Second | Should -Be 'Completed'
        $result.Modules | Should -Contain 'Avtomat.Ec2'
        $result.Modules | Should -Contain 'Foreign.Ec2'
        ($result.Sdks -join ' ') | Should -Match 'DefaultAssemblyLoadContext=4\.0\.129'
        ($result.Sdks -join ' ') | Should -Match 'ModuleLoadContext=4\.0\.132'
    }
}
