#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# The credentials and region context through Copy-AvSnapshot -DryRun -Verbose on a real pwsh, against a running emulator,
# where only a process of its own can: credentials objects of another AWSSDK build than the module's (the session's own,
# as AWS.Tools brings one) and the region from AWS_REGION / AWS_DEFAULT_REGION in the environment. The rest of the order,
# the errors, secrets never written, completion and validation are tested in the hosted runspace:
# tests/Avtomat.Ec2.PowerShell.Tests/AwsContextRunspaceTests.cs and AwsContextResolverTests.cs.
# Run after `dotnet build`:  Invoke-Pester ./tests/Avtomat.Ec2.Context.Tests.ps1
# Nothing here reads ~/.aws or instance metadata: the shared files point into $TestDrive and AWS_EC2_METADATA_DISABLED=true.

BeforeAll {
    $script:RepoRoot = Split-Path -Parent $PSScriptRoot
    $script:ManifestPath = Join-Path $RepoRoot 'artifacts/module/Avtomat.Ec2/Avtomat.Ec2.psd1'
    # The credentials objects below come from an AWSSDK of the session's own, as AWS.Tools brings one: the module's
    # copy is private to it (its own load context on PowerShell 7). The older pair tests/Avtomat.Ec2.ForeignSdk
    # restores stands in for AWS.Tools' build.
    if (-not ('Amazon.Runtime.AWSCredentials' -as [type])) {
        Add-Type -Path (Join-Path $RepoRoot 'artifacts/foreign-sdk/AWSSDK.Core.dll')
    }
    Import-Module -Name $ManifestPath -Force -ErrorAction Stop

    $script:Secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYPESTERSECRET'
    $script:Token = 'FwoGZXIvYXdzEXAMPLEPESTERSESSIONTOKEN'

    # Isolate the AWS environment of this process; restored in AfterAll.
    $script:SavedEnv = @{}
    foreach ($name in 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_REGION',
        'AWS_DEFAULT_REGION', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_EC2_METADATA_DISABLED') {
        $SavedEnv[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $null)
    }
    $env:AWS_EC2_METADATA_DISABLED = 'true'
    $script:CredentialsFile = Join-Path $TestDrive 'credentials'
    $script:ConfigFile = Join-Path $TestDrive 'config'
    Set-Content -Path $CredentialsFile -Value ''
    Set-Content -Path $ConfigFile -Value ''
    $env:AWS_SHARED_CREDENTIALS_FILE = $CredentialsFile
    $env:AWS_CONFIG_FILE = $ConfigFile

    # The emulator, on a free port; its first stdout line is the base URL. AVTOMAT_EC2_EMULATOR names the built
    # Avtomat.Ec2.Emulator.dll (tests/Avtomat.Ec2.Pester.Tests sets it); else `dotnet run` builds and runs it.
    $start = New-Object System.Diagnostics.ProcessStartInfo -ArgumentList 'dotnet'
    if ($env:AVTOMAT_EC2_EMULATOR) { $start.Arguments = '"{0}" --port 0' -f $env:AVTOMAT_EC2_EMULATOR }
    else { $start.Arguments = 'run --project "{0}" -- --port 0' -f (Join-Path $RepoRoot 'tests/Avtomat.Ec2.Emulator') }
    $start.RedirectStandardOutput = $true
    $start.UseShellExecute = $false
    $script:Emulator = [System.Diagnostics.Process]::Start($start)
    $script:EndpointUrl = $Emulator.StandardOutput.ReadLine()
    $script:SnapshotId = (Invoke-RestMethod -Method Post -Uri "$($EndpointUrl)_emulator/seed" -ContentType 'application/json' `
            -Body (@{ Region = 'us-east-1'; Snapshots = 1 } | ConvertTo-Json)).snapshotIds[0]

    # The verbose line Copy-AvSnapshot writes about its context (and every stream's text, to look for secrets).
    function script:Invoke-Context {
        param([hashtable] $Parameters = @{}, [scriptblock] $Before = {})
        . $Before
        $all = Copy-AvSnapshot -SnapshotId $SnapshotId -EndpointUrl $EndpointUrl -DryRun -Verbose -ErrorAction SilentlyContinue @Parameters *>&1
        [pscustomobject]@{
            Context = @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like 'Using credentials from*' })[0].Message
            Text    = ($all | ForEach-Object { "$_" }) -join "`n"
        }
    }
}

AfterAll {
    if ($Emulator -and -not $Emulator.HasExited) {
        if ($PSVersionTable.PSEdition -eq 'Core') { $Emulator.Kill($true) } else { $Emulator.Kill() }
    }
    foreach ($name in $SavedEnv.Keys) { [Environment]::SetEnvironmentVariable($name, $SavedEnv[$name]) }
    Remove-Variable -Name StoredAWSCredentials, StoredAWSRegion -Scope Global -ErrorAction SilentlyContinue
    Remove-Module -Name Avtomat.Ec2 -Force -ErrorAction SilentlyContinue
}

Describe 'Credentials and region, in the AWS Tools order' {
    AfterEach {
        Remove-Variable -Name StoredAWSCredentials, StoredAWSRegion -Scope Global -ErrorAction SilentlyContinue
        $env:AWS_REGION = $null
        $env:AWS_DEFAULT_REGION = $null
    }

    It 'honours $StoredAWSCredentials and $StoredAWSRegion set in the session' {
        $global:StoredAWSCredentials = [Amazon.Runtime.BasicAWSCredentials]::new('AKIDSTORED', $Secret)
        $global:StoredAWSRegion = 'us-east-1'
        (Invoke-Context).Context | Should -Be ('Using credentials from $StoredAWSCredentials; region us-east-1 from $StoredAWSRegion; endpoint ' + $EndpointUrl + '.')
    }

    It 'unwraps an AWSPSCredentials-shaped object (non-public Credentials)' {
        Add-Type -ReferencedAssemblies ([Amazon.Runtime.AWSCredentials].Assembly.Location) -TypeDefinition @'
public sealed class PesterAwsPsCredentials {
    public PesterAwsPsCredentials(Amazon.Runtime.AWSCredentials c) { Credentials = c; }
    internal Amazon.Runtime.AWSCredentials Credentials { get; private set; }
}
'@
        $global:StoredAWSCredentials = [PesterAwsPsCredentials]::new([Amazon.Runtime.BasicAWSCredentials]::new('AKIDWRAPPED', $Secret))
        (Invoke-Context -Parameters @{ SourceRegion = 'us-east-1' }).Context | Should -BeLike 'Using credentials from $StoredAWSCredentials; region us-east-1 from -SourceRegion*'
    }

    It 'takes the region from AWS_REGION, then AWS_DEFAULT_REGION' {
        $keys = @{ AccessKey = 'AKIDENV'; SecretKey = $Secret }
        $env:AWS_DEFAULT_REGION = 'us-east-1'
        (Invoke-Context -Parameters $keys).Context | Should -BeLike '*region us-east-1 from environment variable AWS_DEFAULT_REGION*'
        $env:AWS_REGION = 'us-east-1'
        (Invoke-Context -Parameters $keys).Context | Should -BeLike '*region us-east-1 from environment variable AWS_REGION*'
    }
}
