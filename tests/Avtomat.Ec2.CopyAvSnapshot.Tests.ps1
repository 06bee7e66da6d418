#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Copy-AvSnapshot on a real pwsh, through the built module folder (its loader and Dependencies/, which the hosted tests
# do not load: their runspace reuses the cmdlet assembly the test project references), with what only a process of its
# own can set: the AWS_ENDPOINT_URL_* environment, and the README's Get-EC2Snapshot pipeline with AWS.Tools.EC2 itself
# when it is installed (found on this process's module path; skipped otherwise). Everything else about the cmdlet (binding, parameters, errors, Ctrl+C,
# progress, streaming, verbose output, the format view, help, completion) is tested in the hosted runspace:
# tests/Avtomat.Ec2.PowerShell.Tests/CopyAvSnapshot/*.cs.
# Run after `dotnet build`:  Invoke-Pester ./tests/Avtomat.Ec2.CopyAvSnapshot.Tests.ps1
# Starts the EC2 emulator program on a free port (fast, fixed copy durations) and drives it through its control API.

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorTestSupport.ps1')
}

AfterAll {
    Stop-AvTestEmulator
}

Describe 'An endpoint set in the environment' {
    It 'AWS_ENDPOINT_URL_EC2 without -EndpointUrl: each region''s calls are signed for that region, so the copy is made where it says' {
        Reset-Emulator
        $ids = New-Snapshot 1 us-east-1
        # The emulator, like AWS, takes the region from the signature's scope: a call signed for a region guessed from
        # the host (us-east-1 for 127.0.0.1) would make the copy in us-east-1 while the result said us-west-2.
        $env:AWS_ENDPOINT_URL_EC2 = $Url
        $env:AWS_ENDPOINT_URL_STS = $Url
        try {
            $result = Copy-AvSnapshot -SnapshotId $ids[0] -SourceRegion us-east-1 -DestinationRegion us-west-2 -AccessKey AKIDPESTER -SecretKey $SecretKey
        }
        finally {
            Remove-Item -Path Env:AWS_ENDPOINT_URL_EC2, Env:AWS_ENDPOINT_URL_STS -ErrorAction Ignore
        }
        $result.Region | Should -Be 'us-west-2'
        $result.State | Should -Be 'Completed'
        Get-CopyCount us-west-2 | Should -Be 1
        Get-CopyCount us-east-1 | Should -Be 0
        (Get-Stats).calls."$Account/us-west-2".CopySnapshot | Should -Be 1
    }
}

Describe 'Beside AWS.Tools.EC2' {
    BeforeEach { Reset-Emulator }

    It 'runs the README pipeline with AWS.Tools.EC2 when it is installed' -Skip:(-not (Get-Module -ListAvailable -Name AWS.Tools.EC2)) {
        $null = New-Snapshot 2 -Tags @{ Backup = 'yes' }
        $results = Get-EC2Snapshot -OwnerId self -Filter @{ Name = 'tag:Backup'; Values = 'yes' } -Region us-east-1 @Aws |
            Copy-AvSnapshot @Aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -Encrypted
        $results | Should -HaveCount 2
        $results.Encrypted | Sort-Object -Unique | Should -BeTrue
    }
}
