#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# The built module folder imported into a real pwsh: the engine and its AWSSDK copy in a load context of their own, and
# the module as PowerShell loads it from the folder (the hosted tests reuse the cmdlet assembly their project references).
# The folder's content, the manifest (unchanged, Test-ModuleManifest, exports) are checked without a process of its own:
# tests/Avtomat.Ec2.PowerShell.Tests/ModuleManifestTests.cs.
# Run after `dotnet build`:  Invoke-Pester ./tests/Avtomat.Ec2.Module.Tests.ps1

BeforeDiscovery {
    $script:RepoRoot = Split-Path -Parent $PSScriptRoot
}

BeforeAll {
    $script:RepoRoot = Split-Path -Parent $PSScriptRoot
    $script:ModuleDir = Join-Path $RepoRoot 'artifacts/module/Avtomat.Ec2'
    $script:ManifestPath = Join-Path $ModuleDir 'Avtomat.Ec2.psd1'
    $script:SourceManifest = Import-PowerShellDataFile -Path (Join-Path $RepoRoot 'Avtomat.Ec2.psd1')
}

Describe 'Avtomat.Ec2 module folder' {
    It 'loads the engine and its AWSSDK copy into its own load context on PowerShell 7' -Skip:($PSVersionTable.PSEdition -ne 'Core') {
        Import-Module -Name $ManifestPath -Force
        [Avtomat.Ec2.Loader.ModuleDependencies]::EngineLoad | Should -Be 'isolated'
        # The AWSSDK loads on first use: one call (to a closed port, ended by the one-second timeout) loads it.
        $env:AWS_EC2_METADATA_DISABLED = 'true'
        Copy-AvSnapshot -SnapshotId snap-0123456789abcdef0 -SourceRegion us-east-1 -Region us-east-1 -AccessKey AKIDMODULE `
            -SecretKey module-secret -EndpointUrl 'http://127.0.0.1:9/' -Timeout 1 -ErrorAction SilentlyContinue | Out-Null
        # Nothing from Dependencies/ is in the default context, so another AWSSDK build can still load there.
        $dependencies = (Resolve-Path -LiteralPath (Join-Path $ModuleDir 'Dependencies')).Path
        [System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies |
            Where-Object { $_.Location -and $_.Location.StartsWith($dependencies) } | Should -BeNullOrEmpty
        $ours = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object { $_.GetType().Name -eq 'ModuleLoadContext' }
        $ours.Assemblies.GetName().Name | Should -Contain 'AWSSDK.EC2'
    }
}

Describe 'Importing Avtomat.Ec2' {
    BeforeAll {
        $script:Module = Import-Module -Name $ManifestPath -Force -PassThru -ErrorAction Stop
    }
    AfterAll {
        Remove-Module -Name Avtomat.Ec2 -Force -ErrorAction SilentlyContinue
    }

    It 'loads as a binary module with the manifest version' {
        $Module.ModuleType | Should -Be 'Binary'
        $Module.Version | Should -Be ([version]$SourceManifest.ModuleVersion)
    }

    It 'exports exactly the cmdlets the manifest declares' {
        @($Module.ExportedCommands.Keys | Sort-Object) | Should -Be @($SourceManifest.CmdletsToExport | Sort-Object)
    }
}
