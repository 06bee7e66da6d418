#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Wait-AvSnapshot on a real pwsh, through the built module folder (its loader and Dependencies/, which the hosted tests
# do not load: their runspace reuses the cmdlet assembly the test project references): Copy-AvSnapshot -NoWait piped
# into Wait-AvSnapshot. Everything else about the cmdlet (binding, -Timeout, -Any, snapshots in error, progress, Ctrl+C,
# help) is tested in the hosted runspace: tests/Avtomat.Ec2.PowerShell.Tests/WaitAvSnapshot/*.cs.
# Run after `dotnet build`:  Invoke-Pester ./tests/Avtomat.Ec2.WaitAvSnapshot.Tests.ps1
# Starts the EC2 emulator program on a free port (fast, fixed durations) and drives it through its control API.

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorTestSupport.ps1')
}

AfterAll {
    Stop-AvTestEmulator
}

Describe 'Wait-AvSnapshot' {
    BeforeEach { Reset-Emulator }

    It 'waits for copies started with Copy-AvSnapshot -NoWait, in their destination region' {
        Reset-Emulator -CopySeconds 2
        $ids = New-Snapshot 2
        $started = $ids | Copy-AvSnapshot @Aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -NoWait
        $started.State | Sort-Object -Unique | Should -Be 'Pending'
        $done = $started | Wait-AvSnapshot @Aws
        $done | Should -HaveCount 2
        $done.Region | Sort-Object -Unique | Should -Be 'us-west-2'
        $done.State | Sort-Object -Unique | Should -Be 'Completed'
    }
}
