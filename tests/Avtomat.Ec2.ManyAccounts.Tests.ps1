#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Many accounts in one process, the README's pattern: one profile per account in a credentials file, and
#   $profiles | ForEach-Object -Parallel { Import-Module ...; Copy-AvSnapshot -ProfileName $_ -ProfileLocation ... }
# Every runspace of the process imports the module and so shares one engine, whose copy window is per account and
# destination region: each account reaches EC2's 20 pending copies, never more, and every copy lands in its own account.
# PowerShell 7 only (ForEach-Object -Parallel).

BeforeAll {
    # Three static keys the emulator maps to three accounts (its STS answers GetCallerIdentity with them too).
    $script:AccountOf = [ordered]@{ 'account-a' = '111111111111'; 'account-b' = '222222222222'; 'account-c' = '333333333333' }
    $script:KeyOf = @{ 'account-a' = 'AKIDMANYACCOUNTA'; 'account-b' = 'AKIDMANYACCOUNTB'; 'account-c' = 'AKIDMANYACCOUNTC' }
    $script:EmulatorArguments = ($AccountOf.Keys | ForEach-Object { '--Accounts:{0} {1}' -f $KeyOf[$_], $AccountOf[$_] }) -join ' '
    . (Join-Path $PSScriptRoot 'EmulatorTestSupport.ps1')

    $script:CredentialsFile = Join-Path $TestDrive 'credentials'
    $lines = foreach ($profile in $AccountOf.Keys) {
        "[$profile]"; "aws_access_key_id = $($KeyOf[$profile])"; "aws_secret_access_key = $SecretKey-$profile"; ''
    }
    Set-Content -Path $CredentialsFile -Value $lines

    # Copies long enough that the window fills: 3 s (2 s x the emulator's cross-region factor 1.5), so the first 20
    # of each account are all pending before the first one ends.
    function script:Reset-ManyAccounts {
        Reset-Emulator -CopySeconds 2
    }

    function script:New-AccountSnapshots([string] $Profile, [int] $Count) {
        , [string[]] @((Invoke-Emulator seed POST @{ region = 'us-east-1'; snapshots = $Count; accountId = $AccountOf[$Profile] }).snapshotIds)
    }

    # The documented pattern; each runspace also reports which engine instance it used.
    function script:Invoke-ManyAccounts([object[]] $Work) {
        $Work | ForEach-Object -ThrottleLimit 6 -Parallel {
            Import-Module -Name $using:ManifestPath -ErrorAction Stop
            $copies = $_.SnapshotIds | Copy-AvSnapshot -ProfileName $_.Profile -ProfileLocation $using:CredentialsFile `
                -EndpointUrl $using:Url -SourceRegion us-east-1 -DestinationRegion us-west-2 -ErrorAction Stop
            $engines = @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Avtomat.Ec2.Engine' })
            [pscustomobject]@{
                Profile          = $_.Profile
                Copies           = $copies
                EngineAssemblies = $engines.Count
                EngineLoad       = [Avtomat.Ec2.Loader.ModuleDependencies]::EngineLoad
                Engine           = [System.Runtime.CompilerServices.RuntimeHelpers]::GetHashCode(
                    $engines[0].GetType('Avtomat.Ec2.Engine.SnapshotEngine').GetProperty('Shared').GetValue($null))
            }
        }
    }
}

AfterAll {
    Stop-AvTestEmulator
}

Describe 'Many accounts, one command' {
    BeforeEach { Reset-ManyAccounts }

    It 'copies 26 snapshots in each of three accounts: one engine, 20 pending per account and region, each copy in its account' {
        $work = foreach ($profile in $AccountOf.Keys) { [pscustomobject]@{ Profile = $profile; SnapshotIds = (New-AccountSnapshots $profile 26) } }

        $runs = @(Invoke-ManyAccounts $work)

        $runs | Should -HaveCount 3
        # One engine for the whole process: one engine assembly, one SnapshotEngine.Shared, seen from every runspace.
        $runs.EngineAssemblies | Sort-Object -Unique | Should -Be 1
        @($runs.Engine | Sort-Object -Unique) | Should -HaveCount 1
        $runs.EngineLoad | Sort-Object -Unique | Should -Be 'isolated'
        $stats = Get-Stats
        foreach ($run in $runs) {
            $account = $AccountOf[$run.Profile]
            $seeded = ($work | Where-Object Profile -eq $run.Profile).SnapshotIds
            @($run.Copies) | Should -HaveCount 26
            $run.Copies.State | Sort-Object -Unique | Should -Be 'Completed'
            ($run.Copies.SourceSnapshotId | Sort-Object) | Should -Be ($seeded | Sort-Object)
            $stats.maxPendingCopies."$account/us-west-2" | Should -Be 20 -Because "$($run.Profile) fills its own window"
            $stats.copiesPerDestination."$account/us-west-2" | Should -Be 26 -Because "every copy of $($run.Profile) lands in $account"
        }
        # Nothing landed anywhere else (the default account, another region), and EC2 never said "too many".
        @($stats.copiesPerDestination.PSObject.Properties.Name | Sort-Object) |
            Should -Be @($AccountOf.Values | ForEach-Object { "$_/us-west-2" } | Sort-Object)
        $stats.errors.CopySnapshot.ResourceLimitExceeded | Should -BeNullOrEmpty
    }

    It 'shares one copy window between runspaces that copy in the same account and region' {
        # Two runspaces, one account, 25 copies each: two engines would keep 40 pending and collect ResourceLimitExceeded.
        $ids = New-AccountSnapshots 'account-a' 50
        $work = [pscustomobject]@{ Profile = 'account-a'; SnapshotIds = $ids[0..24] },
                [pscustomobject]@{ Profile = 'account-a'; SnapshotIds = $ids[25..49] }

        $runs = @(Invoke-ManyAccounts $work)

        @($runs.Engine | Sort-Object -Unique) | Should -HaveCount 1
        @($runs.Copies) | Should -HaveCount 50
        $runs.Copies.State | Sort-Object -Unique | Should -Be 'Completed'
        $stats = Get-Stats
        $stats.maxPendingCopies.'111111111111/us-west-2' | Should -Be 20
        $stats.copiesPerDestination.'111111111111/us-west-2' | Should -Be 50
        $stats.errors.CopySnapshot.ResourceLimitExceeded | Should -BeNullOrEmpty
    }
}
