#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Every AWS credential source copies a snapshot into the right account, through the built module in a real pwsh, with
# the emulator answering EC2 and STS (AssumeRole, AssumeRoleWithWebIdentity) at one URL. The SDK's own STS client (the
# one AssumeRoleAWSCredentials and AssumeRoleWithWebIdentityCredentials create inside the module's load context) is
# pointed there with AWS_ENDPOINT_URL_STS, as a user points it at a private STS endpoint.
# Each role lives in its own account and each source snapshot is seeded only there: a copy made in any other account
# fails (the source does not exist there), and the emulator's per-account counters say where the copy was made.
# This file runs in a fresh pwsh (tests/Avtomat.Ec2.Pester.Tests), so it sets AWS_* variables for the whole process.
# Run after `dotnet build`:  Invoke-Pester ./tests/Avtomat.Ec2.Credentials.Tests.ps1

BeforeAll {
    foreach ($name in 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_DEFAULT_PROFILE',
        'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ROLE_ARN', 'AWS_ROLE_SESSION_NAME', 'AWS_WEB_IDENTITY_TOKEN_FILE',
        'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_STS', 'AWS_ENDPOINT_URL_EC2', 'AWS_ENDPOINT_URL_SSO') {
        [Environment]::SetEnvironmentVariable($name, $null)
    }
    . (Join-Path $PSScriptRoot 'EmulatorTestSupport.ps1')

    # The default account (123456789012) holds the source user's key; every role is in an account of its own.
    $script:SourceKey = 'AKIDSOURCEPESTER'
    $script:SourceSecret = 'source-secret-do-not-print'
    $script:Roles = @{
        Member    = 'arn:aws:iam::222222222222:role/Copier'
        EnvSource = 'arn:aws:iam::333333333333:role/EnvCopier'
        Web       = 'arn:aws:iam::444444444444:role/WebCopier'
        Process   = 'arn:aws:iam::555555555555:role/ProcessCopier'
        Profile   = 'arn:aws:iam::666666666666:role/SessionProfile'
        Params    = 'arn:aws:iam::777777777777:role/SessionParams'
        ChainWeb  = 'arn:aws:iam::888888888888:role/ChainWeb'
        # What an SSO profile's sso_account_id + sso_role_name stand for (the emulator issues them as this role).
        Sso       = 'arn:aws:iam::135791357913:role/SnapshotOperator'
        Denied    = 'arn:aws:iam::999999999999:role/Denied'
    }
    $script:WebToken = 'eyJhbGciOiJSUzI1NiJ9.pester-web-identity-token-do-not-print.c2ln'
    $script:TokenFile = Join-Path $TestDrive 'web-identity-token'
    Set-Content -LiteralPath $TokenFile -Value $WebToken -NoNewline

    $env:AWS_ENDPOINT_URL_STS = $Url
    # The SSO portal client (GetRoleCredentials) the SDK creates for an SSO profile, likewise.
    $env:AWS_ENDPOINT_URL_SSO = $Url
    # The region the SDK's STS client signs for (the emulator serves it); copies name their regions explicitly.
    $env:AWS_REGION = 'us-east-1'
    $script:ConfigFile = Join-Path $TestDrive 'config'
    $script:CredentialsFile = Join-Path $TestDrive 'credentials'
    $env:AWS_CONFIG_FILE = $ConfigFile
    $env:AWS_SHARED_CREDENTIALS_FILE = $CredentialsFile

    function script:Get-AccountOf([string] $RoleArn) { ($RoleArn -split ':')[4] }

    # Temporary credentials issued by the emulator's STS (AssumeRole signed by the source user), as a process or an
    # operator would hand them over. The emulator reads the SigV4 scope only, so the signature need not be valid.
    function script:New-IssuedCredential([string] $RoleArn, [string] $SessionName = 'pester') {
        $response = Invoke-WebRequest -Method Post -Uri $Url -UseBasicParsing -ContentType 'application/x-www-form-urlencoded' -Headers @{
            Authorization = "AWS4-HMAC-SHA256 Credential=$SourceKey/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00"
        } -Body @{ Action = 'AssumeRole'; Version = '2011-06-15'; RoleArn = $RoleArn; RoleSessionName = $SessionName }
        ([xml] $response.Content).AssumeRoleResponse.AssumeRoleResult.Credentials
    }

    function script:Set-CredentialConfig([Nullable[int]] $IssuedLifetimeSeconds, [string[]] $DeniedRoles = @(), [double] $CopySeconds = 0.3) {
        $config = Invoke-Emulator config
        $config.durations.copy.kind = 'Fixed'
        $config.durations.copy.seconds = $CopySeconds
        $config.durations.crossRegionFactor = 1
        $config.credentials.issuedLifetimeSeconds = $IssuedLifetimeSeconds
        $config.credentials.deniedRoles = @($DeniedRoles)
        Invoke-Emulator config PUT $config | Out-Null
    }

    # One completed snapshot in the account of $RoleArn, us-east-1.
    function script:New-SnapshotIn([string] $RoleArn) {
        (Invoke-Emulator seed POST @{ accountId = (Get-AccountOf $RoleArn); region = 'us-east-1'; snapshots = 1 }).snapshotIds[0]
    }

    # Copies one snapshot of the role's account to us-west-2 with the given credential parameters and asserts it landed
    # there: completed, one CopySnapshot in ACCOUNT/us-west-2, nothing copied in any other account.
    function script:Assert-CopiedInRoleAccount([string] $RoleArn, [hashtable] $Credential) {
        $account = Get-AccountOf $RoleArn
        $source = New-SnapshotIn $RoleArn
        $all = Copy-AvSnapshot -SnapshotId $source -SourceRegion us-east-1 -DestinationRegion us-west-2 -EndpointUrl $Url @Credential -Verbose *>&1
        $errors = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $errors | ForEach-Object { "$_" } | Should -BeNullOrEmpty
        $result = @($all | Where-Object { $_.PSObject.Properties['SourceSnapshotId'] })
        $result | Should -HaveCount 1
        $result[0].State | Should -Be 'Completed'
        $stats = Get-Stats
        $stats.calls."$account/us-west-2".CopySnapshot | Should -Be 1
        $stats.copiesPerSource."us-east-1/$source".'us-west-2' | Should -Be 1
        @($stats.calls.PSObject.Properties | Where-Object { $_.Name -ne "$account/us-west-2" -and $_.Value.CopySnapshot }) | Should -BeNullOrEmpty
        Assert-NoSecret (($all | ForEach-Object { "$_" }) -join "`n")
        $all
    }

    # What 'aws sso login' leaves behind: ~/.aws/sso/cache/<sha1 hex of the sso-session name>.json, under a HOME of
    # the test's own (the real ~/.aws is never read). The SDK reads accessToken and expiresAt (RFC 3339, UTC).
    $script:SsoHome = Join-Path $TestDrive 'home'
    $script:SsoToken = 'pester-sso-access-token-do-not-print'
    function script:Set-SsoCachedToken([string] $Session, [DateTime] $ExpiresAt) {
        $hash = [System.Security.Cryptography.SHA1]::Create().ComputeHash([System.Text.Encoding]::UTF8.GetBytes($Session))
        $name = (($hash | ForEach-Object { $_.ToString('x2') }) -join '') + '.json'
        $cache = New-Item -ItemType Directory -Force -Path (Join-Path $SsoHome '.aws/sso/cache')
        [ordered]@{
            startUrl = 'https://pester.awsapps.com/start'; region = 'us-east-1'; accessToken = $SsoToken
            expiresAt = $ExpiresAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", [cultureinfo]::InvariantCulture)
        } | ConvertTo-Json | Set-Content -LiteralPath (Join-Path $cache.FullName $name)
    }
    function script:Invoke-WithSsoHome([scriptblock] $Script) {
        $saved = $env:HOME, $env:USERPROFILE
        $env:HOME = $SsoHome; $env:USERPROFILE = $SsoHome
        try { & $Script } finally { $env:HOME, $env:USERPROFILE = $saved }
    }

    function script:Assert-NoSecret([string] $Text) {
        foreach ($secret in @($SourceSecret, $WebToken, $SsoToken) + @($script:Issued.Values | ForEach-Object { $_.SecretAccessKey; $_.SessionToken })) {
            if ($secret) { $Text.Contains($secret) | Should -BeFalse -Because 'no secret key, session token or web identity token may appear in any stream' }
        }
    }

    Reset-Emulator
    Set-CredentialConfig
    # Credentials handed over as fixed values: to a credential_process, to a profile, to -SessionToken.
    $script:Issued = @{
        Process = New-IssuedCredential $Roles.Process
        Profile = New-IssuedCredential $Roles.Profile
        Params  = New-IssuedCredential $Roles.Params
    }
    $processJson = Join-Path $TestDrive 'process-credentials.json'
    [ordered]@{
        Version = 1; AccessKeyId = $Issued.Process.AccessKeyId; SecretAccessKey = $Issued.Process.SecretAccessKey
        SessionToken = $Issued.Process.SessionToken; Expiration = $Issued.Process.Expiration
    } | ConvertTo-Json | Set-Content -LiteralPath $processJson
    $processCommand = if ($IsWindows -or $PSVersionTable.PSEdition -eq 'Desktop') { "cmd.exe /c type `"$processJson`"" } else { "cat `"$processJson`"" }

    Set-Content -LiteralPath $CredentialsFile -Value @"
[source]
aws_access_key_id = $SourceKey
aws_secret_access_key = $SourceSecret

[session]
aws_access_key_id = $($Issued.Profile.AccessKeyId)
aws_secret_access_key = $($Issued.Profile.SecretAccessKey)
aws_session_token = $($Issued.Profile.SessionToken)
"@
    Set-Content -LiteralPath $ConfigFile -Value @"
[profile member]
role_arn = $($Roles.Member)
source_profile = source
role_session_name = pester-member

[profile member-env]
role_arn = $($Roles.EnvSource)
credential_source = Environment

[profile web]
role_arn = $($Roles.Web)
web_identity_token_file = $TokenFile
role_session_name = pester-web

[profile process]
credential_process = $processCommand

[profile denied]
role_arn = $($Roles.Denied)
source_profile = source

[profile sso]
sso_session = pester-sso
sso_account_id = $(Get-AccountOf $Roles.Sso)
sso_role_name = SnapshotOperator

[profile sso-expired]
sso_session = pester-sso-expired
sso_account_id = $(Get-AccountOf $Roles.Sso)
sso_role_name = SnapshotOperator

[sso-session pester-sso]
sso_start_url = https://pester.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[sso-session pester-sso-expired]
sso_start_url = https://pester.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access
"@
    Set-SsoCachedToken pester-sso ([DateTime]::UtcNow.AddHours(8))
    Set-SsoCachedToken pester-sso-expired ([DateTime]::UtcNow.AddHours(-1))
}

AfterAll {
    Stop-AvTestEmulator
}

Describe 'Each credential source copies into its own account' {
    BeforeEach {
        Invoke-Emulator reset POST | Out-Null
        Set-CredentialConfig
    }

    It 'role_arn + source_profile: the copy is made in the role''s account' {
        $all = Assert-CopiedInRoleAccount $Roles.Member @{ ProfileName = 'member' }
        $stats = Get-Stats
        $stats.calls.'123456789012/us-east-1'.'sts:AssumeRole' | Should -BeGreaterOrEqual 1
        ($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message) -join "`n" |
            Should -Match 'Account: 222222222222'
    }

    It 'role_arn + credential_source = Environment: AWS_ACCESS_KEY_ID assumes the role' {
        $env:AWS_ACCESS_KEY_ID = $SourceKey
        $env:AWS_SECRET_ACCESS_KEY = $SourceSecret
        try { Assert-CopiedInRoleAccount $Roles.EnvSource @{ ProfileName = 'member-env' } | Out-Null }
        finally { $env:AWS_ACCESS_KEY_ID = $null; $env:AWS_SECRET_ACCESS_KEY = $null }
        (Get-Stats).calls.'123456789012/us-east-1'.'sts:AssumeRole' | Should -BeGreaterOrEqual 1
    }

    It 'web_identity_token_file in a profile: AssumeRoleWithWebIdentity, unsigned' {
        Assert-CopiedInRoleAccount $Roles.Web @{ ProfileName = 'web' } | Out-Null
        (Get-Stats).calls.'444444444444/us-east-1'.'sts:AssumeRoleWithWebIdentity' | Should -BeGreaterOrEqual 1
    }

    It 'AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN through the SDK default chain' {
        $env:AWS_WEB_IDENTITY_TOKEN_FILE = $TokenFile
        $env:AWS_ROLE_ARN = $Roles.ChainWeb
        $env:AWS_ROLE_SESSION_NAME = 'pester-chain'
        try {
            $all = Assert-CopiedInRoleAccount $Roles.ChainWeb @{}
            ($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message) -join "`n" |
                Should -Match 'default chain: web identity'
        }
        finally { $env:AWS_WEB_IDENTITY_TOKEN_FILE = $null; $env:AWS_ROLE_ARN = $null; $env:AWS_ROLE_SESSION_NAME = $null }
    }

    It 'credential_process: the credentials the process prints act in their account' {
        Assert-CopiedInRoleAccount $Roles.Process @{ ProfileName = 'process' } | Out-Null
    }

    It 'session-token credentials in a profile (aws_session_token)' {
        Assert-CopiedInRoleAccount $Roles.Profile @{ ProfileName = 'session' } | Out-Null
    }

    It 'session-token credentials as -AccessKey/-SecretKey/-SessionToken' {
        Assert-CopiedInRoleAccount $Roles.Params @{
            AccessKey = $Issued.Params.AccessKeyId; SecretKey = $Issued.Params.SecretAccessKey; SessionToken = $Issued.Params.SessionToken
        } | Out-Null
    }

    It 'an SSO profile (sso_session) with a cached token: GetRoleCredentials, unsigned' {
        Invoke-WithSsoHome { Assert-CopiedInRoleAccount $Roles.Sso @{ ProfileName = 'sso' } | Out-Null }
        $stats = Get-Stats
        $stats.calls."$(Get-AccountOf $Roles.Sso)/us-east-1".'sso:GetRoleCredentials' | Should -BeGreaterOrEqual 1
        $stats.errors.'sso:GetRoleCredentials' | Should -BeNullOrEmpty
    }

    It 'a session token that does not belong to the key is refused (the token really is sent)' {
        $source = New-SnapshotIn $Roles.Params
        $failure = $null
        try {
            Copy-AvSnapshot -SnapshotId $source -SourceRegion us-east-1 -DestinationRegion us-west-2 -EndpointUrl $Url -ErrorAction Stop `
                -AccessKey $Issued.Params.AccessKeyId -SecretKey $Issued.Params.SecretAccessKey -SessionToken $Issued.Profile.SessionToken | Out-Null
        }
        catch { $failure = $_ }
        $failure.FullyQualifiedErrorId | Should -BeLike 'CredentialsInvalid,*'
        $failure.CategoryInfo.Category | Should -Be 'AuthenticationError'
        Assert-NoSecret "$failure"
        (Get-Stats).copiesPerSource.PSObject.Properties | Should -BeNullOrEmpty
    }
}

Describe 'A source that cannot provide credentials' {
    BeforeEach {
        Invoke-Emulator reset POST | Out-Null
        Set-CredentialConfig -DeniedRoles $Roles.Denied
    }

    It 'a denied role stops the command with an error naming the profile, the role and STS''s answer' {
        $source = New-SnapshotIn $Roles.Denied
        $all = $null
        try { $all = Copy-AvSnapshot -SnapshotId $source -SourceRegion us-east-1 -DestinationRegion us-west-2 -EndpointUrl $Url -ProfileName denied -Verbose *>&1 }
        catch { $all = @($all) + $_ }
        $errors = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'AwsProfileCredentialsUnavailable,Avtomat.Ec2.Commands.CopyAvSnapshotCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $errors[0].TargetObject | Should -Be 'denied'
        $errors[0].Exception.Message | Should -BeLike "The AWS credentials profile 'denied' (-ProfileName) could not assume role $($Roles.Denied) (source_profile 'source'): AccessDenied: *"
        Assert-NoSecret (($all | ForEach-Object { "$_" }) -join "`n")
        $stats = Get-Stats
        $stats.errors.'sts:AssumeRole'.AccessDenied | Should -BeGreaterOrEqual 1
        @($stats.calls.PSObject.Properties | Where-Object { $_.Value.CopySnapshot -or $_.Value.DescribeSnapshots }) | Should -BeNullOrEmpty
    }
}

Describe 'An SSO profile whose cached token has expired' {
    It 'stops the command with an error naming the profile and recommending ''aws sso login''' {
        Invoke-Emulator reset POST | Out-Null
        Set-CredentialConfig
        $source = New-SnapshotIn $Roles.Sso
        $all = @(Invoke-WithSsoHome {
            try { Copy-AvSnapshot -SnapshotId $source -SourceRegion us-east-1 -DestinationRegion us-west-2 -EndpointUrl $Url -ProfileName sso-expired *>&1 }
            catch { $_ }
        })
        $errors = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'AwsProfileCredentialsUnavailable,Avtomat.Ec2.Commands.CopyAvSnapshotCommand'
        $errors[0].TargetObject | Should -Be 'sso-expired'
        $errors[0].Exception.Message | Should -BeLike "The AWS credentials profile 'sso-expired' (-ProfileName) could not get SSO credentials for account $(Get-AccountOf $Roles.Sso), role SnapshotOperator: *"
        $errors[0].ErrorDetails.RecommendedAction | Should -BeLike "*'aws sso login'*"
        Assert-NoSecret (($all | ForEach-Object { "$_" }) -join "`n")
        # The SDK refuses the expired token itself: the portal is never asked, and nothing is copied.
        $stats = Get-Stats
        @($stats.calls.PSObject.Properties | Where-Object { $_.Value.'sso:GetRoleCredentials' -or $_.Value.CopySnapshot }) | Should -BeNullOrEmpty
    }
}

Describe 'Issued credentials that expire in 15 seconds, and a job that runs longer' {
    It 'assumed role and web identity keep working past the expiry; fixed session credentials end with CredentialsExpired' {
        Invoke-Emulator reset POST | Out-Null
        # Each copy stays pending 25 s; every credential the emulator issues from now on expires after 15 s. (What counts
        # is that the copies outlive the credentials: the fixed job's look at its copy after 15 s is refused, while the
        # refreshing sources ask STS again and see theirs complete.)
        $lifetime = 15
        Set-CredentialConfig -IssuedLifetimeSeconds $lifetime -CopySeconds 25
        $fixed = New-IssuedCredential $Roles.Params 'pester-fixed'
        $script:Issued.Fixed = $fixed
        $jobs = @(
            @{ Name = 'role'; Role = $Roles.Member; Credential = @{ ProfileName = 'member' } }
            @{ Name = 'web'; Role = $Roles.Web; Credential = @{ ProfileName = 'web' } }
            @{ Name = 'fixed'; Role = $Roles.Params; Credential = @{ AccessKey = $fixed.AccessKeyId; SecretKey = $fixed.SecretAccessKey; SessionToken = $fixed.SessionToken } }
        )
        foreach ($job in $jobs) { $job.Source = New-SnapshotIn $job.Role }
        $started = [DateTime]::UtcNow

        # One process, three runspaces: the three jobs run at the same time, each in its own account.
        $outcomes = $jobs | ForEach-Object -ThrottleLimit 3 -Parallel {
            Import-Module -Name $using:ManifestPath
            $job = $_
            $credential = $job.Credential
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            $all = @()
            try { $all = Copy-AvSnapshot -SnapshotId $job.Source -SourceRegion us-east-1 -DestinationRegion us-west-2 -EndpointUrl $using:Url @credential -Verbose *>&1 }
            catch { $all = @($all) + $_ }
            [pscustomobject]@{
                Name    = $job.Name
                Seconds = [math]::Round($clock.Elapsed.TotalSeconds)
                Results = @($all | Where-Object { $_.PSObject.Properties['SourceSnapshotId'] })
                Errors  = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
                Text    = ($all | ForEach-Object { "$_" }) -join "`n"
            }
        }
        $elapsed = ([DateTime]::UtcNow - $started).TotalSeconds
        $elapsed | Should -BeGreaterThan $lifetime
        $byName = @{}
        foreach ($o in $outcomes) { $byName[$o.Name] = $o; Assert-NoSecret $o.Text }

        foreach ($name in 'role', 'web') {
            $byName[$name].Errors | ForEach-Object { "$_" } | Should -BeNullOrEmpty -Because "the $name job refreshes its credentials"
            $byName[$name].Results | Should -HaveCount 1
            $byName[$name].Results[0].State | Should -Be 'Completed'
        }
        $fixedErrors = $byName['fixed'].Errors
        $fixedErrors | Should -Not -BeNullOrEmpty
        $fixedErrors[0].FullyQualifiedErrorId | Should -Be 'CredentialsExpired,Avtomat.Ec2.Commands.CopyAvSnapshotCommand'
        $fixedErrors[0].CategoryInfo.Category | Should -Be 'AuthenticationError'

        $stats = Get-Stats
        # The refreshing sources asked STS again after the first credentials expired; the fixed one could not.
        $stats.calls.'123456789012/us-east-1'.'sts:AssumeRole' | Should -BeGreaterThan 1
        $stats.calls.'444444444444/us-east-1'.'sts:AssumeRoleWithWebIdentity' | Should -BeGreaterThan 1
        ($stats.errors.PSObject.Properties | Where-Object { $_.Value.RequestExpired } | Measure-Object).Count | Should -BeGreaterOrEqual 1
        $stats.calls.'222222222222/us-west-2'.CopySnapshot | Should -Be 1
        $stats.calls.'444444444444/us-west-2'.CopySnapshot | Should -Be 1
        Write-Host ("expiry jobs: {0:N0} s in all ({1}); AssumeRole calls {2}, AssumeRoleWithWebIdentity calls {3}" -f $elapsed,
            (($outcomes | ForEach-Object { "$($_.Name) $($_.Seconds) s" }) -join ', '),
            $stats.calls.'123456789012/us-east-1'.'sts:AssumeRole', $stats.calls.'444444444444/us-east-1'.'sts:AssumeRoleWithWebIdentity')
    }
}
